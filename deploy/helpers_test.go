package deploy

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/praxis-adapter/praxis-adapter/internal/cli"
)

// repoRoot is the module root, relative to this package's directory (where
// `go test` runs).
const repoRoot = ".."

// ---------------------------------------------------------------------------
// YAML documents

// yamlDoc is one document of a (possibly multi-document) YAML file.
type yamlDoc struct {
	File  string // relative to deploy/, e.g. k8s/worker-deployment.yaml
	Index int    // 0-based position in the file
	Data  map[string]any
}

// Kind and Name of a Kubernetes object (empty for other YAML).
func (d yamlDoc) Kind() string { return str(d.Data["kind"]) }
func (d yamlDoc) Name() string { return str(dig(d.Data, "metadata", "name")) }

// where names the object for failure messages: the file, then the object.
func (d yamlDoc) where() string {
	if d.Kind() != "" {
		return fmt.Sprintf("%s: %s %s", d.File, d.Kind(), d.Name())
	}
	return fmt.Sprintf("%s (document %d)", d.File, d.Index+1)
}

// deployFiles lists every file under deploy/ with one of the extensions,
// as paths relative to deploy/.
func deployFiles(t *testing.T, exts ...string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "templates" && strings.HasPrefix(p, "chart/") {
				return filepath.SkipDir // Helm templates: YAML only once rendered (chart_test.go)
			}
			return nil
		}
		for _, e := range exts {
			if strings.HasSuffix(p, e) {
				out = append(out, filepath.ToSlash(p))
			}
		}
		return nil
	})
	require.NoError(t, err)
	sort.Strings(out)
	return out
}

// parseYAMLDocs decodes every document of a YAML stream; empty documents
// (a file of comments, a trailing ---) are skipped.
func parseYAMLDocs(file string, raw []byte) ([]yamlDoc, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	var docs []yamlDoc
	for i := 0; ; i++ {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", file, i+1, err)
		}
		if v == nil {
			continue
		}
		mv, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: document %d: top level is %T, want a mapping", file, i+1, v)
		}
		docs = append(docs, yamlDoc{File: file, Index: i, Data: mv})
	}
}

// loadYAML reads and decodes one file under deploy/.
func loadYAML(t *testing.T, file string) []yamlDoc {
	t.Helper()
	raw, err := os.ReadFile(file)
	require.NoError(t, err, "read %s", file)
	docs, err := parseYAMLDocs(file, raw)
	require.NoError(t, err)
	return docs
}

// k8sObjects decodes every manifest under deploy/k8s.
func k8sObjects(t *testing.T) []yamlDoc {
	t.Helper()
	var out []yamlDoc
	for _, f := range deployFiles(t, ".yaml", ".yml") {
		if strings.HasPrefix(f, "k8s/") {
			out = append(out, loadYAML(t, f)...)
		}
	}
	require.NotEmpty(t, out, "no manifests under deploy/k8s")
	return out
}

func byKind(docs []yamlDoc, kind string) []yamlDoc {
	var out []yamlDoc
	for _, d := range docs {
		if d.Kind() == kind {
			out = append(out, d)
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// Navigating decoded YAML/JSON

func dig(v any, path ...string) any {
	for _, p := range path {
		mv, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mv[p]
	}
	return v
}

func mapOf(v any) map[string]any {
	mv, _ := v.(map[string]any)
	return mv
}

func listOf(v any) []any {
	lv, _ := v.([]any)
	return lv
}

// str renders a scalar as its YAML text (numbers and booleans included).
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

// num reads an integer scalar (YAML int or a numeric string).
func num(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case float64:
		return int(x), x == float64(int(x))
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		return n, err == nil
	}
	return 0, false
}

func stringMap(v any) map[string]string {
	out := map[string]string{}
	for k, x := range mapOf(v) {
		out[k] = str(x)
	}
	return out
}

// subset reports whether every key/value of sel is in labels.
func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// portOf returns the port of a host:port address.
func portOf(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(p)
}

// reachable reports whether a listen address accepts connections from
// outside the container (probes, Services, published ports).
func reachable(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && (host == "" || host == "0.0.0.0" || host == "::")
}

// ---------------------------------------------------------------------------
// The CLI, as the binary itself describes it

// cliCommands returns the subcommands `praxis-adapter help` lists.
func cliCommands(t *testing.T) map[string]bool {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), []string{"help"}, &stdout, &stderr)
	require.Equal(t, 0, code, "praxis-adapter help: %s", stderr.String())
	out := map[string]bool{}
	in := false
	sc := bufio.NewScanner(strings.NewReader(stdout.String() + stderr.String()))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Commands:"):
			in = true
		case in && strings.TrimSpace(line) == "":
			in = false
		case in:
			if f := strings.Fields(line); len(f) > 0 {
				out[f[0]] = true
			}
		}
	}
	require.NotEmpty(t, out, "could not read the command list from `praxis-adapter help`")
	return out
}

var flagLine = regexp.MustCompile(`^  -(\S+?)(?: (\S+))?(?:\t|$)`)

// cliFlags returns a subcommand's flags, as `praxis-adapter <cmd> -h`
// prints them: name -> whether it takes a value (false for booleans).
func cliFlags(t *testing.T, cmd string) map[string]bool {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), []string{cmd, "-h"}, &stdout, &stderr)
	require.Equal(t, 0, code, "praxis-adapter %s -h: %s", cmd, stderr.String())
	out := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(stderr.String()))
	for sc.Scan() {
		if m := flagLine.FindStringSubmatch(sc.Text()); m != nil {
			out[m[1]] = m[2] != ""
		}
	}
	return out
}

// parseArgs splits a command line after the subcommand into flag values,
// using the subcommand's own flag definitions (so booleans take no value).
func parseArgs(args []string, defs map[string]bool) (map[string]string, []string, error) {
	vals := map[string]string{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			return vals, args[i:], nil
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takes, ok := defs[name]
		if !ok {
			return nil, nil, fmt.Errorf("unknown flag -%s", name)
		}
		switch {
		case hasVal:
		case !takes:
			val = "true"
		case i+1 < len(args):
			i++
			val = args[i]
		default:
			return nil, nil, fmt.Errorf("flag -%s needs a value", name)
		}
		vals[name] = val
	}
	return vals, nil, nil
}

// cliEnvNames are the environment variables the CLI reads itself (outside
// the config struct), found as os.Getenv("...") in internal/cli.
func cliEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	dir := filepath.Join(repoRoot, "internal", "cli")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	fset := token.NewFileSet()
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			t.Logf("skipping %s (does not parse: %v)", e.Name(), err)
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 1 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || sel.Sel.Name != "Getenv" {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					out[s] = true
				}
			}
			return true
		})
	}
	return out
}

// assertImageUser: a Kubernetes container runs as the image's numeric
// non-root user, with a read-only root filesystem, no privilege escalation
// and no capabilities (pod or container securityContext).
func assertImageUser(t *testing.T, c adapterContainer, uid int) {
	t.Helper()
	pick := func(k string) any {
		if v, ok := c.ContainerSc[k]; ok {
			return v
		}
		return c.PodSec[k]
	}
	assert.Equal(t, true, pick("runAsNonRoot"), "%s: securityContext.runAsNonRoot must be true", c.Where)
	u, _ := num(pick("runAsUser"))
	assert.Equal(t, uid, u, "%s: securityContext.runAsUser must be the Dockerfile's USER %d", c.Where, uid)
	assert.Equal(t, true, c.ContainerSc["readOnlyRootFilesystem"], "%s: containers[].securityContext.readOnlyRootFilesystem must be true", c.Where)
	assert.Equal(t, false, c.ContainerSc["allowPrivilegeEscalation"], "%s: containers[].securityContext.allowPrivilegeEscalation must be false", c.Where)
	assert.Equal(t, []string{"ALL"}, stringList(dig(c.ContainerSc, "capabilities", "drop")), "%s: containers[].securityContext.capabilities.drop must be [ALL]", c.Where)
}

// goRuntimeEnv are variables the Go runtime reads; manifests may set them.
var goRuntimeEnv = map[string]bool{"GOMEMLIMIT": true, "GOMAXPROCS": true, "GOGC": true, "GODEBUG": true, "TZ": true}

// ---------------------------------------------------------------------------
// Metrics, as the code defines them

// metricDef is one Prometheus metric found in the code.
type metricDef struct {
	Name        string
	Kind        string // counter, gauge, histogram, summary
	Labels      map[string]bool
	LabelsKnown bool   // false when the label list is not a literal
	File        string // where it is defined
}

var metricCtor = regexp.MustCompile(`^New(Counter|Gauge|Histogram|Summary)(Vec)?$`)

// codeMetrics parses every non-test Go file of the module (deploy/ and
// testdata excluded) and returns the metrics created with a literal
// prometheus.*Opts{Name: ...}, with their label names. Parsing the source
// rather than importing the packages covers packages written later (the
// ledger) without this test importing them.
func codeMetrics(t *testing.T) map[string]metricDef {
	t.Helper()
	out := map[string]metricDef{}
	fset := token.NewFileSet()
	type pkgFiles struct {
		consts map[string]string
		files  []*ast.File
		names  []string
	}
	pkgs := map[string]*pkgFiles{}
	err := filepath.WalkDir(repoRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "deploy", "testdata", "vendor", "data", "node_modules":
				if p != repoRoot {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, perr := parser.ParseFile(fset, p, nil, 0)
		if perr != nil {
			t.Logf("skipping %s (does not parse: %v)", p, perr)
			return nil
		}
		dir := filepath.Dir(p)
		if pkgs[dir] == nil {
			pkgs[dir] = &pkgFiles{consts: map[string]string{}}
		}
		pf := pkgs[dir]
		pf.files = append(pf.files, f)
		pf.names = append(pf.names, p)
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							if s, err := strconv.Unquote(lit.Value); err == nil {
								pf.consts[n.Name] = s
							}
						}
					}
				}
			}
		}
		return nil
	})
	require.NoError(t, err)

	for _, pf := range pkgs {
		resolve := func(e ast.Expr) (string, bool) {
			switch x := e.(type) {
			case *ast.BasicLit:
				s, err := strconv.Unquote(x.Value)
				return s, err == nil
			case *ast.Ident:
				s, ok := pf.consts[x.Name]
				return s, ok
			}
			return "", false
		}
		for i, f := range pf.files {
			file := pf.names[i]
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) == 0 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				m := metricCtor.FindStringSubmatch(sel.Sel.Name)
				if m == nil {
					return true
				}
				arg := call.Args[0]
				if u, ok := arg.(*ast.UnaryExpr); ok && u.Op == token.AND {
					arg = u.X
				}
				lit, ok := arg.(*ast.CompositeLit)
				if !ok {
					return true
				}
				parts := map[string]string{}
				var constLabels []string
				for _, el := range lit.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					key, ok := kv.Key.(*ast.Ident)
					if !ok {
						continue
					}
					if s, ok := resolve(kv.Value); ok {
						parts[key.Name] = s
					}
					// ConstLabels: prometheus.Labels{"version": ...} are
					// labels of the series too (praxis_build_info).
					if cl, ok := kv.Value.(*ast.CompositeLit); ok && key.Name == "ConstLabels" {
						for _, e := range cl.Elts {
							if lkv, ok := e.(*ast.KeyValueExpr); ok {
								if s, ok := resolve(lkv.Key); ok {
									constLabels = append(constLabels, s)
								}
							}
						}
					}
				}
				if parts["Name"] == "" {
					return true
				}
				var nameParts []string
				for _, k := range []string{"Namespace", "Subsystem", "Name"} {
					if parts[k] != "" {
						nameParts = append(nameParts, parts[k])
					}
				}
				def := metricDef{Name: strings.Join(nameParts, "_"), Kind: strings.ToLower(m[1]), Labels: map[string]bool{}, File: file}
				def.LabelsKnown = m[2] == ""
				for _, l := range constLabels {
					def.Labels[l] = true
				}
				if m[2] != "" && len(call.Args) > 1 {
					if ll, ok := call.Args[1].(*ast.CompositeLit); ok {
						def.LabelsKnown = true
						for _, el := range ll.Elts {
							if s, ok := resolve(el); ok {
								def.Labels[s] = true
							} else {
								def.LabelsKnown = false
							}
						}
					}
				}
				out[def.Name] = def
				return true
			})
		}
	}
	return out
}

// seriesOf maps a series name used in PromQL to the metric that produces
// it: histograms add _bucket, _sum and _count; summaries _sum and _count.
func seriesOf(name string, metrics map[string]metricDef) (metricDef, bool) {
	if d, ok := metrics[name]; ok {
		return d, true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suf)
		if !ok {
			continue
		}
		if d, ok := metrics[base]; ok && (d.Kind == "histogram" || (d.Kind == "summary" && suf != "_bucket")) {
			return d, true
		}
	}
	return metricDef{}, false
}

// ---------------------------------------------------------------------------
// Dockerfile

// dockerInstr is one Dockerfile instruction with continuations joined.
type dockerInstr struct {
	Cmd  string // upper-case: FROM, RUN, ENV, ...
	Rest string
	Line int
}

// dockerStage is the instructions from one FROM to the next.
type dockerStage struct {
	From   string // image, global ARGs expanded
	Name   string // AS name
	Instrs []dockerInstr
}

// dockerfile is a parsed Dockerfile: global ARG defaults and the stages.
type dockerfile struct {
	Args   map[string]string
	Stages []dockerStage
}

var dockerVar = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

func parseDockerfile(raw string) (dockerfile, error) {
	df := dockerfile{Args: map[string]string{}}
	var cur strings.Builder
	start := 0
	var instrs []dockerInstr
	for i, line := range strings.Split(raw, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // a comment inside a continued instruction
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if body, cont := strings.CutSuffix(trimmed, "\\"); cont {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, rest, _ := strings.Cut(cur.String(), " ")
		instrs = append(instrs, dockerInstr{Cmd: strings.ToUpper(cmd), Rest: strings.TrimSpace(rest), Line: start})
		cur.Reset()
	}
	if cur.Len() > 0 {
		return df, errors.New("the last instruction ends with a line continuation")
	}
	for _, in := range instrs {
		switch {
		case in.Cmd == "ARG" && len(df.Stages) == 0:
			k, v, _ := strings.Cut(in.Rest, "=")
			df.Args[k] = strings.Trim(v, `"`)
		case in.Cmd == "FROM":
			f := strings.Fields(in.Rest)
			var img, name string
			for j := 0; j < len(f); j++ {
				switch {
				case strings.HasPrefix(f[j], "--"):
				case strings.EqualFold(f[j], "AS") && j+1 < len(f):
					name = f[j+1]
					j++
				case img == "":
					img = f[j]
				}
			}
			img = dockerVar.ReplaceAllStringFunc(img, func(m string) string {
				return df.Args[dockerVar.FindStringSubmatch(m)[1]]
			})
			df.Stages = append(df.Stages, dockerStage{From: img, Name: name})
		case len(df.Stages) > 0:
			st := &df.Stages[len(df.Stages)-1]
			st.Instrs = append(st.Instrs, in)
		}
	}
	if len(df.Stages) == 0 {
		return df, errors.New("no FROM")
	}
	return df, nil
}

// envPairs parses `ENV K=V K2="V 2"` (and the legacy `ENV K V`).
func envPairs(rest string) map[string]string {
	out := map[string]string{}
	if !strings.Contains(strings.Fields(rest)[0], "=") {
		k, v, _ := strings.Cut(rest, " ")
		out[k] = strings.TrimSpace(v)
		return out
	}
	for _, tok := range splitQuoted(rest) {
		k, v, _ := strings.Cut(tok, "=")
		out[k] = strings.Trim(v, `"`)
	}
	return out
}

// splitQuoted splits on spaces outside double quotes.
func splitQuoted(s string) []string {
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			cur.WriteRune(r)
		case (r == ' ' || r == '\t') && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// jsonArray decodes an exec-form instruction (["a", "b"]).
func jsonArray(rest string) ([]string, error) {
	var out []string
	if err := json.Unmarshal([]byte(rest), &out); err != nil {
		return nil, fmt.Errorf("%q is not the exec form [\"...\"]: %w", rest, err)
	}
	return out, nil
}

// ---------------------------------------------------------------------------
// Compose values

var composeVar = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}`)

// composeInterpolate resolves ${VAR:-default} and ${VAR-default} to the
// default, and ${VAR} / $VAR to a placeholder, as an unset shell would.
func composeInterpolate(s string) string {
	return composeVar.ReplaceAllStringFunc(s, func(m string) string {
		sub := composeVar.FindStringSubmatch(m)
		if sub[2] != "" {
			return sub[2]
		}
		return "placeholder-" + sub[1]
	})
}

// stringList reads a compose field that may be a list or a single string.
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return strings.Fields(x)
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, str(e))
		}
		return out
	}
	return nil
}

// composeEnv reads `environment:` in its map or list form.
func composeEnv(v any) map[string]string {
	out := map[string]string{}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			out[k] = composeInterpolate(str(e))
		}
	case []any:
		for _, e := range x {
			k, val, _ := strings.Cut(str(e), "=")
			out[k] = composeInterpolate(val)
		}
	}
	return out
}

var urlInText = regexp.MustCompile(`https?://[^\s"',]+`)
