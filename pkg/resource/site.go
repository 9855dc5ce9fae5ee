package resource

import "time"

// SiteFormat is the version of the server block template in pkg/nginx. The
// planner compares it with the format recorded in each managed file, so a
// template change rewrites every site; bump it whenever the template changes.
const SiteFormat = 2

// SiteFileName is the name of a client's managed file in the sites directory.
func SiteFileName(client string) string { return client + ".conf" }

// Site is everything needed to render one client's nginx server block. It is
// recorded (as JSON) in the managed file's header, so the next plan can say
// which field changed without rendering anything.
type Site struct {
	Fleet  string `json:"fleet"`
	Client string `json:"client"`
	Domain string `json:"domain"`
	// Upstream is the client's published address, "127.0.0.1:8081" or "[::1]:8081".
	Upstream string `json:"upstream"`
	// TLS: listen with ssl on HTTPSPort and redirect HTTPPort to it.
	TLS            bool   `json:"tls"`
	Certificate    string `json:"certificate,omitempty"`
	CertificateKey string `json:"certificateKey,omitempty"`
	HTTPPort       int    `json:"httpPort"`
	HTTPSPort      int    `json:"httpsPort,omitempty"`
	// ClientMaxBodySize is an nginx size ("100m").
	ClientMaxBodySize string        `json:"clientMaxBodySize"`
	ReadTimeout       time.Duration `json:"readTimeout"`
	ConnectTimeout    time.Duration `json:"connectTimeout"`
}

// SiteOp is what a SiteChange does to one file.
type SiteOp string

const (
	SiteCreate SiteOp = "create"
	SiteUpdate SiteOp = "update"
	SiteDelete SiteOp = "delete"
)

// Symbol is the Terraform-like marker of an operation.
func (o SiteOp) Symbol() string {
	switch o {
	case SiteCreate:
		return "+"
	case SiteUpdate:
		return "~"
	case SiteDelete:
		return "-"
	}
	return "?"
}

// SiteChange is one file the proxy adapter writes or removes. The planner
// decides; the adapter renders Site, writes atomically, tests and reloads.
type SiteChange struct {
	Op SiteOp `json:"op"`
	// File is the base name in the sites directory ("acme-corp.conf").
	File   string   `json:"file"`
	Client string   `json:"client,omitempty"`
	Causes []string `json:"causes"`
	// Site is the desired server block (create and update).
	Site *Site `json:"site,omitempty"`
}
