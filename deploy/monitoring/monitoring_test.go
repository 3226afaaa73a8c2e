package monitoring

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/resingest/resingest/internal/storeerr"
)

const (
	alertsFile     = "../prometheus/alerts.yaml"
	alertTestsFile = "../prometheus/alerts_test.yaml"
	dashboardFile  = "../grafana/resingest-dashboard.json"
	moduleRoot     = "../.."
	readmeFile     = "../../README.md"
)

// ruleFile is a Prometheus rule file.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// unitTests is a promtool unit test file (the parts checked here).
type unitTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name        string `yaml:"name"`
		InputSeries []struct {
			Series string `yaml:"series"`
		} `yaml:"input_series"`
		AlertRuleTests []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels map[string]string `yaml:"exp_labels"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

// dashboard is the part of the Grafana dashboard checked here.
type dashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func readAlerts(t *testing.T) []rule {
	t.Helper()
	var f ruleFile
	readYAML(t, alertsFile, &f)
	var rules []rule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatalf("%s: no rules", alertsFile)
	}
	return rules
}

func readDashboard(t *testing.T) (dashboard, []byte) {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s is not valid JSON: %v", dashboardFile, err)
	}
	return d, b
}

// promtool finds promtool or fails: the tests never skip.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (%v): it comes with Debian's prometheus package, which `scripts/dev-services deps` (make deps, make test) installs; or run apt-get install --no-install-recommends prometheus", err)
	}
	return p
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(promtool(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestAlertRules checks the rules' syntax and runs their unit tests.
func TestAlertRules(t *testing.T) {
	runPromtool(t, "check", "rules", alertsFile)
	runPromtool(t, "test", "rules", alertTestsFile)
}

// TestAlertConventions: every alert waits (for), has a severity and the
// three annotations, its runbook points to the README's failure section,
// and every README anchor the rules and the dashboard name exists.
func TestAlertConventions(t *testing.T) {
	for _, r := range readAlerts(t) {
		if r.Alert == "" {
			continue
		}
		if r.For == "" {
			t.Errorf("%s: no for:", r.Alert)
		}
		if s := r.Labels["severity"]; s != "warning" && s != "critical" {
			t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
		}
		for _, a := range []string{"summary", "description", "runbook"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("%s: no %s annotation", r.Alert, a)
			}
		}
		if !strings.Contains(r.Annotations["runbook"], "README.md#failure-behaviour") {
			t.Errorf("%s: runbook %q does not point to README.md#failure-behaviour", r.Alert, r.Annotations["runbook"])
		}
	}

	readme, err := os.ReadFile(readmeFile)
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#+ +(.+)$`).FindAllStringSubmatch(string(readme), -1) {
		anchors[slug(m[1])] = true
	}
	alerts, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	_, dash := readDashboard(t)
	for _, m := range regexp.MustCompile(`README\.md#([a-z0-9_-]+)`).FindAllStringSubmatch(string(alerts)+string(dash), -1) {
		if !anchors[m[1]] {
			t.Errorf("README.md has no heading for the anchor #%s", m[1])
		}
	}
}

// slug is GitHub's anchor of a heading.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune('-')
		}
	}
	return b.String()
}

// TestEveryAlertTested: every alert (each severity of it) has a unit test
// where it fires and one where it must not, and every alert a test names
// exists (promtool passes a test of an unknown alert that expects none).
func TestEveryAlertTested(t *testing.T) {
	type key struct{ alert, severity string }
	rules := map[key]bool{}
	names := map[string]bool{}
	for _, r := range readAlerts(t) {
		if r.Alert != "" {
			rules[key{r.Alert, r.Labels["severity"]}] = true
			names[r.Alert] = true
		}
	}
	var tests unitTests
	readYAML(t, alertTestsFile, &tests)
	if !slices.Contains(tests.RuleFiles, "alerts.yaml") {
		t.Errorf("%s: rule_files %v does not load alerts.yaml", alertTestsFile, tests.RuleFiles)
	}
	fires := map[key]bool{}
	quiet := map[string]bool{}
	for _, g := range tests.Tests {
		for _, a := range g.AlertRuleTests {
			if !names[a.Alertname] {
				t.Errorf("test %q: alert %q is not in %s", g.Name, a.Alertname, alertsFile)
			}
			if len(a.ExpAlerts) == 0 {
				quiet[a.Alertname] = true
			}
			for _, e := range a.ExpAlerts {
				fires[key{a.Alertname, e.ExpLabels["severity"]}] = true
			}
		}
	}
	for k := range rules {
		if !fires[k] {
			t.Errorf("%s (%s): no test case where it fires", k.alert, k.severity)
		}
	}
	for n := range names {
		if !quiet[n] {
			t.Errorf("%s: no test case where it must not fire (exp_alerts: [])", n)
		}
	}
}

var (
	metricRef  = regexp.MustCompile(`resingest_[a-z0-9_]+`)
	seriesName = regexp.MustCompile(`^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)
	registered = regexp.MustCompile("[\"`](resingest_[a-z0-9_]+)[\"`]")
)

// TestMetricNamesExist: every metric the alerts, their tests' input series
// and the dashboard use is registered in the module's Go source, so that a
// renamed metric cannot leave an alert that never fires.
func TestMetricNamesExist(t *testing.T) {
	used := map[string][]string{} // metric -> where
	add := func(where, text string) {
		for _, m := range metricRef.FindAllString(text, -1) {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				m = strings.TrimSuffix(m, suffix)
			}
			if !slices.Contains(used[m], where) {
				used[m] = append(used[m], where)
			}
		}
	}
	for _, r := range readAlerts(t) {
		add(alertsFile+" "+r.Alert+r.Record, r.Expr)
	}
	var tests unitTests
	readYAML(t, alertTestsFile, &tests)
	for _, g := range tests.Tests {
		for _, s := range g.InputSeries {
			if m := seriesName.FindStringSubmatch(s.Series); m != nil {
				add(alertTestsFile+" "+g.Name, m[1])
			}
		}
	}
	_, raw := readDashboard(t)
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	walkQueries(doc, func(q string) { add(dashboardFile, q) })
	if len(used) == 0 {
		t.Fatal("no resingest_ metric found in the alerts or the dashboard")
	}

	have, err := registeredMetrics(moduleRoot)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for m, where := range used {
		if !have[m] {
			missing = append(missing, fmt.Sprintf("%s (used in %s)", m, strings.Join(where, ", ")))
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("metric %s is not registered in the module's Go source (no \"%s\" literal in a non-test .go file)", m, strings.SplitN(m, " ", 2)[0])
	}
}

// walkQueries calls f with every query string of a dashboard: panel
// targets' expr, variables' query and definition.
func walkQueries(v any, f func(string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "expr" || k == "query" || k == "definition") {
				f(s)
				continue
			}
			walkQueries(x, f)
		}
	case []any:
		for _, x := range v {
			walkQueries(x, f)
		}
	}
}

// registeredMetrics collects the resingest_ string literals of the
// module's non-test Go files.
func registeredMetrics(root string) (map[string]bool, error) {
	have := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range registered.FindAllSubmatch(b, -1) {
			have[string(m[1])] = true
		}
		return nil
	})
	return have, err
}

// TestClassLabelValues: the class matchers of the alerts and the dashboard
// use values the code sets: the store failure classes (storeerr), the
// pipeline's "transient" and the AWS retry observer's "other".
func TestClassLabelValues(t *testing.T) {
	valid := map[string]bool{
		string(storeerr.Missing): true, string(storeerr.Permission): true, string(storeerr.KMS): true,
		string(storeerr.Throttled): true, string(storeerr.Unavailable): true,
		"transient": true, // pipeline.classTransient
		"other":     true, // awsclient retryLog.observe, an unclassified error
	}
	matcher := regexp.MustCompile(`\bclass\s*(=~|!~|=|!=)\s*"([^"]*)"`)
	check := func(where, text string) {
		for _, m := range matcher.FindAllStringSubmatch(text, -1) {
			for _, v := range strings.Split(m[2], "|") {
				if !valid[v] {
					t.Errorf("%s: class %q is not a class the code sets (%v)", where, v, sortedKeys(valid))
				}
			}
		}
	}
	for _, r := range readAlerts(t) {
		check(r.Alert+r.Record, r.Expr)
	}
	var tests unitTests
	readYAML(t, alertTestsFile, &tests)
	for _, g := range tests.Tests {
		for _, s := range g.InputSeries {
			check("test "+g.Name, s.Series)
		}
	}
	d, _ := readDashboard(t)
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			check("panel "+p.Title, tg.Expr)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TestDashboardJSON checks the dashboard's structure.
func TestDashboardJSON(t *testing.T) {
	d, _ := readDashboard(t)
	if d.UID != "resingest" {
		t.Errorf("uid %q, want resingest", d.UID)
	}
	if d.SchemaVersion != 39 {
		t.Errorf("schemaVersion %d, want 39", d.SchemaVersion)
	}
	hasDS := false
	for _, v := range d.Templating.List {
		if v.Name == "DS_PROMETHEUS" && v.Type == "datasource" && v.Query == "prometheus" {
			hasDS = true
		}
	}
	if !hasDS {
		t.Error("no datasource variable DS_PROMETHEUS (type datasource, query prometheus)")
	}
	if len(d.Panels) == 0 {
		t.Fatal("no panels")
	}
	ids := map[int]string{}
	for i, p := range d.Panels {
		name := fmt.Sprintf("panel %d (id %d, %q)", i, p.ID, p.Title)
		if strings.TrimSpace(p.Title) == "" {
			t.Errorf("%s: no title", name)
		}
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("%s: id %d is also %q's", name, p.ID, prev)
		}
		ids[p.ID] = p.Title
		if p.Datasource.UID != "${DS_PROMETHEUS}" {
			t.Errorf("%s: datasource uid %q, want ${DS_PROMETHEUS}", name, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no targets", name)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("%s: target %s has no expr", name, tg.RefID)
			}
			if refs[tg.RefID] {
				t.Errorf("%s: refId %s repeated", name, tg.RefID)
			}
			refs[tg.RefID] = true
		}
	}
}

// TestDashboardQueries parses every panel query with promtool: each one,
// with Grafana's variables replaced, becomes a recording rule of a
// temporary rule file that `promtool check rules` must accept.
func TestDashboardQueries(t *testing.T) {
	d, _ := readDashboard(t)
	variable := regexp.MustCompile(`\$\{?(\w+)\}?`)
	durations := map[string]string{"__rate_interval": "5m", "__interval": "1m", "__range": "1h"}
	type recording struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var recs []recording
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			expr := variable.ReplaceAllStringFunc(tg.Expr, func(v string) string {
				if d, ok := durations[strings.Trim(v, "${}")]; ok {
					return d
				}
				return ".*" // a label regexp: $job, $instance
			})
			recs = append(recs, recording{Record: fmt.Sprintf("dashboard:panel%d_%s", p.ID, tg.RefID), Expr: expr})
		}
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": recs}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard-queries.yaml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, "check", "rules", path)
}
