package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/quantabase/fleetctl/pkg/fleet"
)

// oauthClient is one client in `fleetctl oauth urls`.
type oauthClient struct {
	Client       string   `json:"client"`
	GoogleOAuth  bool     `json:"googleOAuth"`
	Origins      []string `json:"origins"`
	RedirectURIs []string `json:"redirectURIs"`
}

// oauthURLs is the whole answer: per client, and the union to paste into a
// Google OAuth client shared by the fleet.
type oauthURLs struct {
	Fleet        string        `json:"fleet"`
	Clients      []oauthClient `json:"clients"`
	Origins      []string      `json:"origins"`
	RedirectURIs []string      `json:"redirectURIs"`
}

func runOAuth(ctx context.Context, env *cliEnv, args []string) int {
	if len(args) == 0 || args[0] != "urls" {
		fmt.Fprintf(env.stderr, "Usage: fleetctl oauth urls [-f fleet.yaml] [--json]\n\n"+
			"Print, per client, the JavaScript origins and redirect URIs to register with Google.\n")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return exitOK
		}
		return exitError
	}
	fs := newFlags("oauth urls", env)
	file := fs.String("f", "fleet.yaml", "path to fleet.yaml")
	asJSON := fs.Bool("json", false, "print JSON")
	if fs.Parse(args[1:]) != nil {
		return exitError
	}
	spec, ok := loadSpec(env, *file, *asJSON)
	if !ok {
		return exitError
	}
	urls := collectOAuthURLs(spec)
	if *asJSON {
		return writeJSON(env, urls)
	}
	writeOAuthText(env.stdout, urls)
	return exitOK
}

func collectOAuthURLs(spec *fleet.Spec) oauthURLs {
	out := oauthURLs{Fleet: spec.Fleet, Clients: []oauthClient{}, Origins: []string{}, RedirectURIs: []string{}}
	for i := range spec.Clients {
		c := &spec.Clients[i]
		oc := oauthClient{Client: c.Name, GoogleOAuth: c.OAuth != nil && c.OAuth.Google != nil, Origins: spec.OAuthOrigins(c)}
		for _, o := range oc.Origins {
			oc.RedirectURIs = append(oc.RedirectURIs, o+fleet.OAuthCallbackPath)
		}
		out.Clients = append(out.Clients, oc)
		out.Origins = append(out.Origins, oc.Origins...)
		out.RedirectURIs = append(out.RedirectURIs, oc.RedirectURIs...)
	}
	// Ports and domains are unique per client, so the union has no
	// duplicates; sorting keeps the output stable.
	slices.Sort(out.Origins)
	slices.Sort(out.RedirectURIs)
	return out
}

func writeOAuthText(w io.Writer, u oauthURLs) {
	for _, c := range u.Clients {
		note := ""
		if !c.GoogleOAuth {
			note = " (no Google OAuth configured yet)"
		}
		fmt.Fprintf(w, "%s%s\n  Authorized JavaScript origins:\n", c.Client, note)
		for _, o := range c.Origins {
			fmt.Fprintf(w, "    %s\n", o)
		}
		fmt.Fprintf(w, "  Authorized redirect URIs:\n")
		for _, r := range c.RedirectURIs {
			fmt.Fprintf(w, "    %s\n", r)
		}
		fmt.Fprintln(w)
	}
}
