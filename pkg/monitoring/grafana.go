package monitoring

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// DatasourceUID is the provisioned Prometheus datasource every panel uses.
const DatasourceUID = "fleetctl-prometheus"

type datasourceFile struct {
	APIVersion  int          `yaml:"apiVersion"`
	Datasources []datasource `yaml:"datasources"`
}

type datasource struct {
	Name      string `yaml:"name"`
	UID       string `yaml:"uid"`
	Type      string `yaml:"type"`
	Access    string `yaml:"access"`
	URL       string `yaml:"url"`
	IsDefault bool   `yaml:"isDefault"`
	Editable  bool   `yaml:"editable"`
}

// datasource points Grafana at the Prometheus of this section (on its bind
// address; Grafana runs beside it on the host network when deployed).
func (r renderer) datasource() ([]byte, error) {
	host := r.mon.Prometheus.BindAddress
	if host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return r.yamlFile(datasourceFile{APIVersion: 1, Datasources: []datasource{{
		Name: "Prometheus (fleetctl)", UID: DatasourceUID, Type: "prometheus", Access: "proxy",
		URL: "http://" + host + ":" + strconv.Itoa(r.mon.Prometheus.Port), IsDefault: true,
	}}})
}

type providerFile struct {
	APIVersion int        `yaml:"apiVersion"`
	Providers  []provider `yaml:"providers"`
}

type provider struct {
	Name                  string            `yaml:"name"`
	Folder                string            `yaml:"folder"`
	Type                  string            `yaml:"type"`
	DisableDeletion       bool              `yaml:"disableDeletion"`
	AllowUIUpdates        bool              `yaml:"allowUiUpdates"`
	UpdateIntervalSeconds int               `yaml:"updateIntervalSeconds"`
	Options               map[string]string `yaml:"options"`
}

// provider loads the dashboards from grafana/dashboards mounted at
// /etc/grafana/dashboards; edits in the UI are refused, as the files are
// rendered from fleet.yaml.
func (r renderer) provider() ([]byte, error) {
	return r.yamlFile(providerFile{APIVersion: 1, Providers: []provider{{
		Name: "fleetctl", Folder: "fleetctl " + r.spec.Fleet, Type: "file", DisableDeletion: true,
		UpdateIntervalSeconds: 30, Options: map[string]string{"path": dashboardsMountPath},
	}}})
}

// ds is the datasource reference of every panel.
func ds() common.DataSourceRef {
	return common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr(DatasourceUID)}
}

func query(expr, legend string) *prometheus.DataqueryBuilder {
	return prometheus.NewDataqueryBuilder().Expr(expr).LegendFormat(legend).Datasource(ds())
}

// series is a time series panel of the given queries.
func series(title, desc, unit string, qs ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().Title(title).Description(desc).Unit(unit).Datasource(ds()).
		Height(8).Span(12).FillOpacity(10).ShowPoints(common.VisibilityModeNever)
	for _, q := range qs {
		p.WithTarget(q)
	}
	return p
}

// single is a stat panel showing the last value of one query.
func single(title, desc, unit string, q *prometheus.DataqueryBuilder, steps ...dashboard.Threshold) *stat.PanelBuilder {
	p := stat.NewPanelBuilder().Title(title).Description(desc).Unit(unit).Datasource(ds()).
		Height(4).Span(6).WithTarget(q).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
	if len(steps) > 0 {
		p.Thresholds(dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(steps))
	}
	return p
}

func step(v *float64, color string) dashboard.Threshold {
	return dashboard.Threshold{Value: v, Color: color}
}

// okAbove colours a stat green at or above ok, red below it.
func okAbove(ok float64) []dashboard.Threshold {
	return []dashboard.Threshold{step(nil, "red"), step(cog.ToPtr(ok), "green")}
}

// okBelow colours a stat green below bad, red from it on.
func okBelow(bad float64) []dashboard.Threshold {
	return []dashboard.Threshold{step(nil, "green"), step(cog.ToPtr(bad), "red")}
}

// thresholdLine draws a dashed red line at v on a time series.
func thresholdLine(p *timeseries.PanelBuilder, v float64) *timeseries.PanelBuilder {
	return p.Thresholds(dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).
		Steps([]dashboard.Threshold{step(nil, "green"), step(cog.ToPtr(v), "red")})).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
}

// listVariable is a multi-select variable over fixed values (the fleet's
// clients or sync clusters): adding one to fleet.yaml changes the dashboard.
func listVariable(name, label string, values []string) *dashboard.CustomVariableBuilder {
	v := dashboard.NewCustomVariableBuilder(name).Label(label).Multi(true).IncludeAll(true).AllValue(".*").
		Values(dashboard.StringOrMap{String: cog.ToPtr(strings.Join(values, ","))}).
		Current(dashboard.VariableOption{Selected: cog.ToPtr(true),
			Text:  dashboard.StringOrArrayOfString{String: cog.ToPtr("All")},
			Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("$__all")}})
	opts := []dashboard.VariableOption{{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr("All")},
		Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("$__all")}, Selected: cog.ToPtr(true)}}
	for _, s := range values {
		opts = append(opts, dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr(s)},
			Value: dashboard.StringOrArrayOfString{String: cog.ToPtr(s)}, Selected: cog.ToPtr(false)})
	}
	return v.Options(opts)
}

func newDashboard(uid, title string, tags ...string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).Uid(uid).Tags(append([]string{"fleetctl"}, tags...)).
		Refresh("30s").Time("now-6h", "now").Timezone(common.TimeZoneBrowser).Readonly().
		Tooltip(dashboard.DashboardCursorSyncCrosshair)
}

// dashboardJSON builds b and marshals it, indented, with a final newline.
func dashboardJSON(b *dashboard.DashboardBuilder) ([]byte, error) {
	d, err := b.Build()
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

var _ cog.Builder[variants.Dataquery] = (*prometheus.DataqueryBuilder)(nil)
