package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

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

func oauthCmd(env *cliEnv) *cobra.Command {
	c := group(env, &cobra.Command{
		Use:   "oauth",
		Short: "what to register with Google for the fleet's OAuth",
	})
	var file string
	var asJSON bool
	urls := &cobra.Command{
		Use:   "urls",
		Short: "print, per client, the JavaScript origins and redirect URIs to register with Google",
		Long: "Print, per client, the JavaScript origins and redirect URIs to register with Google; --json\n" +
			"adds the union for a fleet that shares one OAuth client. Needs neither Docker nor secrets.",
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return status(runOAuthURLs(env, file, asJSON))
		},
	}
	fileFlag(urls, &file)
	jsonFlag(urls, &asJSON)
	c.AddCommand(urls)
	return c
}

func runOAuthURLs(env *cliEnv, file string, asJSON bool) int {
	spec, ok := loadSpec(env, file, asJSON)
	if !ok {
		return exitError
	}
	urls := collectOAuthURLs(spec)
	if asJSON {
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
