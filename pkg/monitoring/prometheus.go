package monitoring

import (
	"bytes"

	"gopkg.in/yaml.v3"
)

// The subset of Prometheus's configuration file fleetctl writes.
type promConfig struct {
	Global        promGlobal     `yaml:"global"`
	RuleFiles     []string       `yaml:"rule_files"`
	ScrapeConfigs []scrapeConfig `yaml:"scrape_configs"`
}

type promGlobal struct {
	ScrapeInterval     string            `yaml:"scrape_interval"`
	EvaluationInterval string            `yaml:"evaluation_interval"`
	ExternalLabels     map[string]string `yaml:"external_labels"`
}

type scrapeConfig struct {
	JobName       string         `yaml:"job_name"`
	MetricsPath   string         `yaml:"metrics_path"`
	StaticConfigs []staticConfig `yaml:"static_configs"`
}

type staticConfig struct {
	Targets []string          `yaml:"targets"`
	Labels  map[string]string `yaml:"labels,omitempty"`
}

// prometheusConfig scrapes every watch daemon (whose per-client series carry
// every client's health) and every sync node, labelled with its cluster and
// node name so the sync alerts and dashboards group by cluster.
func (r renderer) prometheusConfig() ([]byte, error) {
	c := promConfig{
		Global: promGlobal{
			ScrapeInterval:     r.mon.ScrapeInterval.String(),
			EvaluationInterval: r.mon.EvaluationInterval.String(),
			ExternalLabels:     map[string]string{"fleet": r.spec.Fleet},
		},
		RuleFiles: []string{alertsFile},
		ScrapeConfigs: []scrapeConfig{{
			JobName: JobWatch, MetricsPath: "/metrics",
			StaticConfigs: []staticConfig{{Targets: r.mon.Targets.Watch}},
		}},
	}
	if len(r.sync) > 0 {
		sc := scrapeConfig{JobName: JobSync, MetricsPath: "/metrics"}
		for _, cl := range r.sync {
			for _, n := range cl.Nodes {
				sc.StaticConfigs = append(sc.StaticConfigs, staticConfig{
					Targets: []string{n.Address},
					Labels:  map[string]string{"cluster": cl.Name, "node": n.Name},
				})
			}
		}
		c.ScrapeConfigs = append(c.ScrapeConfigs, sc)
	}
	return r.yamlFile(c)
}

// yamlFile marshals v under the managed header, two-space indented.
func (r renderer) yamlFile(v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(r.header())
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
