package fleet

import "time"

// APIVersion is the only fleet.yaml apiVersion this build understands.
const APIVersion = "fleetctl/v1"

// Spec is a loaded, defaulted and validated fleet.yaml. Secret references are
// kept as references (SecretRef); they are resolved only by Resolve.
type Spec struct {
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	Fleet      string `yaml:"fleet" json:"fleet"`
	// SecretKeySeed derives every client's stable WEBUI_SECRET_KEY
	// (HMAC-SHA256(seed, fleet/client)). Must be a secret reference.
	SecretKeySeed SecretRef `yaml:"secretKeySeed" json:"secretKeySeed"`
	// Prune removes containers of clients deleted from fleet.yaml (never volumes).
	Prune    bool     `yaml:"prune,omitempty" json:"prune,omitempty"`
	Defaults Defaults `yaml:"defaults,omitempty" json:"defaults,omitempty"`
	Clients  []Client `yaml:"clients" json:"clients"`
	// Proxy, when set, makes fleetctl own one nginx server block per client.
	Proxy *Proxy `yaml:"proxy,omitempty" json:"proxy,omitempty"`
	// Backups says where `fleetctl backup` stores archives, how many it
	// keeps and when `fleetctl watch` takes them (backups.go).
	Backups *Backups `yaml:"backups,omitempty" json:"backups,omitempty"`
	// Hosts are the Docker engines of the fleet (hosts.go); none means the
	// one engine named by the environment, as before hosts existed.
	Hosts []Host `yaml:"hosts,omitempty" json:"hosts,omitempty"`
	// LockHost names the host whose engine holds the fleet's lock (default:
	// the first host).
	LockHost string `yaml:"lockHost,omitempty" json:"lockHost,omitempty"`
	// Rollout is how a changed image reaches several clients (defaulted by Load).
	Rollout *Rollout `yaml:"rollout,omitempty" json:"rollout,omitempty"`
	// Sync runs the HA sync nodes that mirror SQLite clients into
	// PostgreSQL (sync.go).
	Sync *Sync `yaml:"sync,omitempty" json:"sync,omitempty"`
	// Monitoring, when set, configures the rendered Prometheus and Grafana
	// files and whether they are deployed (monitoring.go).
	Monitoring *Monitoring `yaml:"monitoring,omitempty" json:"monitoring,omitempty"`

	// Warnings are problems that do not stop the load (an env key that
	// differs from a managed one only by case), positioned like errors.
	Warnings Diagnostics `yaml:"-" json:"-"`

	// Path is the file the spec was loaded from ("" for in-memory specs).
	Path string `yaml:"-" json:"-"`
	// Digest is the SHA-256 of the raw file bytes, used to tie a saved plan to its input.
	Digest string `yaml:"-" json:"-"`
}

// Settings are what every client has and may either set itself or inherit
// from defaults; Defaults and Client embed them, so both spell them the same
// way in YAML (inline) and the inheritance rules live in one place
// (Settings.inherit).
type Settings struct {
	Image         string            `yaml:"image,omitempty" json:"image,omitempty"`
	PullPolicy    PullPolicy        `yaml:"pullPolicy,omitempty" json:"pullPolicy,omitempty"`
	Env           map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	OAuth         *OAuth            `yaml:"oauth,omitempty" json:"oauth,omitempty"`
	Resources     *Resources        `yaml:"resources,omitempty" json:"resources,omitempty"`
	RestartPolicy string            `yaml:"restartPolicy,omitempty" json:"restartPolicy,omitempty"`
	HealthCheck   *HealthCheck      `yaml:"healthCheck,omitempty" json:"healthCheck,omitempty"`
	// BindAddress is the host address client ports are published on
	// (default 127.0.0.1: clients are meant to sit behind a proxy).
	BindAddress string `yaml:"bindAddress,omitempty" json:"bindAddress,omitempty"`
}

// Defaults apply to every client unless the client overrides the field.
type Defaults struct {
	Settings `yaml:",inline"`
	Naming   *Naming `yaml:"naming,omitempty" json:"naming,omitempty"`
}

// Client is one Open WebUI instance. Zero fields inherit from Defaults after Load.
type Client struct {
	Name        string `yaml:"name" json:"name"`
	Port        int    `yaml:"port" json:"port"`
	Domain      string `yaml:"domain,omitempty" json:"domain,omitempty"`
	DisplayName string `yaml:"displayName,omitempty" json:"displayName,omitempty"`
	State       State  `yaml:"state,omitempty" json:"state,omitempty"`
	// Volume overrides the data volume's name (defaults.naming.volume);
	// `fleetctl restore` sets it to the volume it restored into.
	Volume string `yaml:"volume,omitempty" json:"volume,omitempty"`
	// Host pins the client to one of the fleet's hosts; unpinned clients are
	// placed when they are created (pkg/plan placement.go).
	Host     string `yaml:"host,omitempty" json:"host,omitempty"`
	Settings `yaml:",inline"`
	Database *Database `yaml:"database,omitempty" json:"database,omitempty"`
	// SecretKey overrides the derived WEBUI_SECRET_KEY (to adopt a deployment
	// that already has one). Must be a secret reference.
	SecretKey SecretRef `yaml:"secretKey,omitempty" json:"secretKey,omitempty"`

	// Line and Column locate the client's entry in fleet.yaml (for messages).
	Line   int `yaml:"-" json:"-"`
	Column int `yaml:"-" json:"-"`
}

// State is a client's desired run state.
type State string

const (
	StateRunning State = "running"
	StateStopped State = "stopped"
)

// PullPolicy says when apply pulls the client's image.
type PullPolicy string

const (
	PullAlways       PullPolicy = "always"
	PullIfNotPresent PullPolicy = "if-not-present"
	PullNever        PullPolicy = "never"
)

// OAuth configures Google sign-in for the clients.
type OAuth struct {
	Google         *GoogleOAuth `yaml:"google,omitempty" json:"google,omitempty"`
	AllowedDomains []string     `yaml:"allowedDomains,omitempty" json:"allowedDomains,omitempty"`
	// EnableSignup maps to ENABLE_OAUTH_SIGNUP (default true when OAuth is configured:
	// the allowed domain is the gate).
	EnableSignup *bool `yaml:"enableSignup,omitempty" json:"enableSignup,omitempty"`
}

// GoogleOAuth holds the shared Google OAuth client.
type GoogleOAuth struct {
	ClientID     string    `yaml:"clientID" json:"clientID"`
	ClientSecret SecretRef `yaml:"clientSecret" json:"clientSecret"`
}

// Rollout is the policy of image rollouts: Canary clients are replaced
// first and alone, the others only once they are healthy, at most
// MaxParallel at a time, and the first failure stops the rollout.
type Rollout struct {
	Canary      *int `yaml:"canary,omitempty" json:"canary,omitempty"`
	MaxParallel int  `yaml:"maxParallel,omitempty" json:"maxParallel,omitempty"`
}

// Rollout defaults.
const (
	DefaultCanary      = 1
	DefaultMaxParallel = 2
)

// Resources are container limits.
type Resources struct {
	// Memory limit, e.g. "2g", "512m" (bytes when a bare number).
	Memory string `yaml:"memory,omitempty" json:"memory,omitempty"`
	// CPUs limit, e.g. 1.5.
	CPUs float64 `yaml:"cpus,omitempty" json:"cpus,omitempty"`
}

// HealthCheck configures the health gate apply waits on.
type HealthCheck struct {
	Path     string   `yaml:"path,omitempty" json:"path,omitempty"`
	Timeout  Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Interval Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
}

// Naming holds the templates for object names; "{fleet}" and "{client}" are
// replaced. Defaults follow the old scripts so deployments can be adopted.
type Naming struct {
	Container string `yaml:"container,omitempty" json:"container,omitempty"`
	Volume    string `yaml:"volume,omitempty" json:"volume,omitempty"`
}

// Database selects the client's database backend.
type Database struct {
	Backend Backend   `yaml:"backend,omitempty" json:"backend,omitempty"`
	URL     SecretRef `yaml:"url,omitempty" json:"url,omitempty"`
	// Supabase builds the URL from a Supabase project (instead of url).
	Supabase *Supabase `yaml:"supabase,omitempty" json:"supabase,omitempty"`
	// Vector "pgvector" sets VECTOR_DB=pgvector and PGVECTOR_DB_URL.
	Vector string `yaml:"vector,omitempty" json:"vector,omitempty"`
}

// Supabase locates a Supabase project's connection pooler (see database.go).
type Supabase struct {
	ProjectRef string       `yaml:"projectRef" json:"projectRef"`
	Region     string       `yaml:"region" json:"region"`
	Password   SecretRef    `yaml:"password" json:"password"`
	Mode       SupabaseMode `yaml:"mode,omitempty" json:"mode,omitempty"`
}

// SupabaseMode is the pooler mode: transaction (port 6543, default) or session (5432).
type SupabaseMode string

const (
	SupabaseTransaction SupabaseMode = "transaction"
	SupabaseSession     SupabaseMode = "session"
)

// Backend is a database backend.
type Backend string

const (
	BackendSQLite   Backend = "sqlite"
	BackendPostgres Backend = "postgres"
)

// Duration is a time.Duration written as a Go duration string ("90s").
type Duration time.Duration

// Defaults of the defaults.
const (
	DefaultImage         = "ghcr.io/open-webui/open-webui:main"
	DefaultRestartPolicy = "unless-stopped"
	DefaultBindAddress   = "127.0.0.1"
	// DefaultHealthPath "" gates on GET /ready, falling back to /health when
	// the image answers 404 there (pkg/health).
	DefaultHealthPath    = ""
	DefaultHealthTimeout = 120 * time.Second
	DefaultHealthEvery   = 500 * time.Millisecond
	DefaultContainerName = "openwebui-{client}"
	DefaultVolumeName    = "openwebui-{client}-data"
	DataDir              = "/app/backend/data"
	ContainerPort        = 8080
)

// Proxy configures the nginx server blocks fleetctl writes, one file per
// client with a domain, and how nginx is tested and reloaded. Commands are
// argument lists run without a shell, so nginx may run on the host
// (nginx -t) or in a container (docker exec NAME nginx -t).
type Proxy struct {
	// SitesDir is the absolute directory nginx includes (sites-enabled, conf.d).
	SitesDir string   `yaml:"sitesDir" json:"sitesDir"`
	Test     []string `yaml:"test,omitempty" json:"test,omitempty"`
	Reload   []string `yaml:"reload,omitempty" json:"reload,omitempty"`
	TLS      TLSMode  `yaml:"tls,omitempty" json:"tls,omitempty"`
	// Certificate and CertificateKey are paths; "{domain}" is replaced.
	Certificate    string `yaml:"certificate,omitempty" json:"certificate,omitempty"`
	CertificateKey string `yaml:"certificateKey,omitempty" json:"certificateKey,omitempty"`
	HTTPPort       int    `yaml:"httpPort,omitempty" json:"httpPort,omitempty"`
	HTTPSPort      int    `yaml:"httpsPort,omitempty" json:"httpsPort,omitempty"`
	// Host is the fleet host nginx runs on when fleet.yaml has hosts
	// (default the lock host); clients elsewhere are reached on their
	// host's address.
	Host string `yaml:"host,omitempty" json:"host,omitempty"`
	// UpstreamHost is where nginx reaches the published client ports
	// (default: the client's bind address, 127.0.0.1 for a wildcard).
	UpstreamHost      string   `yaml:"upstreamHost,omitempty" json:"upstreamHost,omitempty"`
	ClientMaxBodySize string   `yaml:"clientMaxBodySize,omitempty" json:"clientMaxBodySize,omitempty"`
	ReadTimeout       Duration `yaml:"readTimeout,omitempty" json:"readTimeout,omitempty"`
	ConnectTimeout    Duration `yaml:"connectTimeout,omitempty" json:"connectTimeout,omitempty"`
	// ProbeHost is the IP address on which fleetctl reaches nginx's HTTP
	// port to check, after each reload, that nginx serves the new server
	// blocks (default 127.0.0.1).
	ProbeHost string `yaml:"probeHost,omitempty" json:"probeHost,omitempty"`
	// ErrorLog is nginx's error log as fleetctl can read it: when nginx does
	// not take a reload, the lines it logged are the error's message.
	ErrorLog string `yaml:"errorLog,omitempty" json:"errorLog,omitempty"`
}

// TLSMode says how the proxy serves clients.
type TLSMode string

const (
	// TLSFiles: HTTPS with certificate files, plain HTTP redirects to it.
	TLSFiles TLSMode = "files"
	// TLSNone: plain HTTP only (local use, or TLS terminated elsewhere).
	TLSNone TLSMode = "none"
)

// Proxy defaults.
const (
	DefaultCertificate       = "/etc/letsencrypt/live/{domain}/fullchain.pem"
	DefaultCertificateKey    = "/etc/letsencrypt/live/{domain}/privkey.pem"
	DefaultHTTPPort          = 80
	DefaultHTTPSPort         = 443
	DefaultClientMaxBodySize = "100m"
	DefaultReadTimeout       = 10 * time.Minute
	DefaultConnectTimeout    = 10 * time.Second
	DefaultProbeHost         = "127.0.0.1"
	DefaultErrorLog          = "/var/log/nginx/error.log"
)
