package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/praxis-adapter/praxis-adapter/adapter/config"
	"github.com/praxis-adapter/praxis-adapter/ingress"
	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// The image name the manifests use for our binary (kustomization.yaml pins
// the registry and tag; compose tags its build with it).
const imageName = "praxis-adapter"

// TestEveryFileParses: every YAML file (all documents) and every JSON file
// under deploy/ decodes, and every Kubernetes manifest names its kind.
func TestEveryFileParses(t *testing.T) {
	files := deployFiles(t, ".yaml", ".yml", ".json")
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			require.NoError(t, err)
			if strings.HasSuffix(f, ".json") {
				var v any
				assert.NoError(t, json.Unmarshal(raw, &v), "%s: not valid JSON", f)
				return
			}
			docs, err := parseYAMLDocs(f, raw)
			require.NoError(t, err)
			assert.NotEmpty(t, docs, "%s: no YAML document", f)
			if strings.HasPrefix(f, "k8s/") {
				for _, d := range docs {
					assert.NotEmpty(t, str(d.Data["apiVersion"]), "%s: apiVersion is missing", d.where())
					assert.NotEmpty(t, d.Kind(), "%s: kind is missing", d.where())
					if d.Kind() != "Kustomization" {
						assert.NotEmpty(t, d.Name(), "%s: metadata.name is missing", d.where())
						assert.Empty(t, dig(d.Data, "metadata", "namespace"), "%s: metadata.namespace is set; the manifests are namespace-agnostic", d.where())
					}
				}
			}
		})
	}
}

// TestExampleConfig: deploy/config.example.yaml loads with config.Load,
// serves at least two applications with secrets from env or files, and
// documents every field of config.Config (as a key, or as a commented-out
// key for alternatives like secret_file).
func TestExampleConfig(t *testing.T) {
	const file = "config.example.yaml"
	raw, err := os.ReadFile(file)
	require.NoError(t, err)

	var parsed config.Config
	require.NoError(t, config.Parse(raw, &parsed), "%s does not parse", file)
	env := map[string]string{}
	for _, a := range parsed.Applications {
		for _, name := range []string{a.SecretEnv, a.PreviousSecretEnv, a.Rebilly.APIKeyEnv, a.Rebilly.Webhook.PasswordEnv} {
			if name != "" {
				env[name] = "placeholder-" + name
			}
		}
	}
	cfg, err := config.Load(file, func(k string) string { return env[k] })
	require.NoError(t, err, "%s must load with its secret_env variables set", file)

	assert.GreaterOrEqual(t, len(cfg.Applications), 2, "%s: applications: show at least two merchants/applications", file)
	rebillyApps := 0
	for i, a := range parsed.Applications {
		if a.IsRebilly() {
			rebillyApps++
			assert.True(t, a.Rebilly.APIKeyEnv != "" || a.Rebilly.APIKeyFile != "", "%s: applications[%d].rebilly.api_key_env or api_key_file must be set", file, i)
			continue
		}
		assert.True(t, a.SecretEnv != "" || a.SecretFile != "", "%s: applications[%d].secret_env or secret_file must be set", file, i)
		assert.NotEmpty(t, a.Frontends, "%s: applications[%d].frontends: show the front-end routing", file, i)
	}
	assert.Positive(t, rebillyApps, "%s: show a Rebilly application (provider: rebilly)", file)
	assert.NotEmpty(t, cfg.Ledger.Processors, "%s: ledger.processors: show the processor mapping", file)
	assert.NotEmpty(t, cfg.Praxis.Currencies, "%s: praxis.currencies: show the UNCONFIRMED currency factors", file)
	assert.Contains(t, string(raw), "previous_secret_env", "%s: document rotation with previous_secret_env", file)

	var tree map[string]any
	require.NoError(t, yaml.Unmarshal(raw, &tree))
	text := string(raw)
	for _, p := range yamlPaths(reflect.TypeOf(config.Config{}), "") {
		t.Run(p, func(t *testing.T) {
			leaf := p[strings.LastIndex(p, ".")+1:]
			commented := regexp.MustCompile(`(?m)^\s*#\s*` + regexp.QuoteMeta(leaf) + `:`).MatchString(text)
			assert.True(t, hasPath(tree, strings.Split(p, ".")) || commented,
				"%s: field %s is not documented; add it (with a comment: what it does, its default, when to change it)", file, p)
		})
	}
	// The UNCONFIRMED knobs are explained where they are set.
	for _, knob := range []string{"signature_fields", "reply_signature_headers", "currencies"} {
		i := strings.Index(text, knob+":")
		require.GreaterOrEqual(t, i, 0, "%s: %s is missing", file, knob)
		window := text[max(0, i-1500) : i+len(knob)]
		assert.Contains(t, window, "UNCONFIRMED", "%s: explain why %s is UNCONFIRMED in the comment above it", file, knob)
	}
}

// yamlPaths lists the dotted YAML paths of every field of a config struct;
// a slice of structs contributes its element's fields under the slice name.
func yamlPaths(t reflect.Type, prefix string) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		p := tag
		if prefix != "" {
			p = prefix + "." + tag
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Duration(0)):
			out = append(out, yamlPaths(ft, p)...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, p)
			out = append(out, yamlPaths(ft.Elem(), p)...)
		default:
			out = append(out, p)
		}
	}
	return out
}

// hasPath reports whether the decoded YAML has the key path; a list on the
// way matches when any element has the rest.
func hasPath(v any, path []string) bool {
	if len(path) == 0 {
		return true
	}
	switch x := v.(type) {
	case map[string]any:
		next, ok := x[path[0]]
		return ok && hasPath(next, path[1:])
	case []any:
		for _, e := range x {
			if hasPath(e, path) {
				return true
			}
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Adapter containers, from the Kubernetes manifests and the compose file

// probe is one HTTP health check on a container.
type probe struct {
	Field string // readinessProbe, livenessProbe, startupProbe, healthcheck
	Path  string
	Port  int
	Err   string // why the probe could not be read
}

// adapterContainer is one container that runs our binary, reduced to what
// must agree with the code.
type adapterContainer struct {
	Where       string // file, object and container, for messages
	Source      string // "k8s" or "compose"
	Image       string
	Command     []string // k8s command / compose entrypoint: must stay unset
	Args        []string // subcommand and flags
	Env         map[string]string
	Ports       map[int]string // container port -> where it is declared
	Probes      []probe
	Annotations map[string]string // pod annotations (k8s)
	PodSec      map[string]any
	ContainerSc map[string]any
	Grace       time.Duration // time between SIGTERM and the kill
	GraceField  string
	ConfigRaw   []byte
	ConfigFrom  string
	ConfigErr   string
	Replicas    int     // compose deploy.replicas (0 = unset)
	Object      yamlDoc // the Kubernetes object (k8s only)

	cfg    *config.Config // loaded as the binary would; nil if it does not load
	cfgErr error
	parsed config.Config // the file alone, for its secret_env names
}

// Role is the subcommand.
func (c adapterContainer) Role() string {
	if len(c.Args) == 0 {
		return ""
	}
	return c.Args[0]
}

func imageBase(image string) string {
	i := strings.LastIndex(image, "/")
	base := image[i+1:]
	if j := strings.IndexAny(base, ":@"); j >= 0 {
		base = base[:j]
	}
	return base
}

// configPathOf is the -config flag or PRAXIS_CONFIG.
func configPathOf(args []string, env map[string]string) string {
	for i, a := range args {
		name, val, has := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && name == "config" {
			if has {
				return val
			}
			if i+1 < len(args) {
				return args[i+1]
			}
		}
	}
	return env["PRAXIS_CONFIG"]
}

// loadConfig loads the container's config the way the binary does: the
// file, then its environment (secrets from Secrets are placeholders).
func (c *adapterContainer) loadConfig() {
	if c.ConfigRaw == nil {
		return
	}
	_ = config.Parse(c.ConfigRaw, &c.parsed)
	raw := c.ConfigRaw
	// Files a Secret mounts into the container (NATS creds, nkey seed, TLS
	// material) do not exist here; config validation stats them. Stand in
	// an empty file at a temporary path for each, so everything else is
	// checked as the binary would check it.
	n, r := c.parsed.NATS, c.parsed.Redis
	for _, p := range []string{n.CredsFile, n.NKeySeedFile, n.TLS.CAFile, n.TLS.CertFile, n.TLS.KeyFile, r.CAFile, r.CertFile, r.KeyFile} {
		if p == "" || !filepath.IsAbs(p) {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			continue
		}
		dir, err := os.MkdirTemp("", "mounted-")
		if err != nil {
			continue
		}
		stand := filepath.Join(dir, filepath.Base(p))
		if os.WriteFile(stand, nil, 0o600) == nil {
			raw = bytes.ReplaceAll(raw, []byte(p), []byte(stand))
		}
	}
	env := map[string]string{}
	for k, v := range c.Env {
		env[k] = v
	}
	for _, k := range []string{"NATS_CREDS", "NATS_NKEY_SEED_FILE", "NATS_TLS_CA_FILE", "NATS_TLS_CERT_FILE", "NATS_TLS_KEY_FILE",
		"REDIS_CA_FILE", "REDIS_CERT_FILE", "REDIS_KEY_FILE"} {
		if p := env[k]; filepath.IsAbs(p) {
			if _, err := os.Stat(p); err != nil {
				if dir, err := os.MkdirTemp("", "mounted-"); err == nil {
					stand := filepath.Join(dir, filepath.Base(p))
					if os.WriteFile(stand, nil, 0o600) == nil {
						env[k] = stand
					}
				}
			}
		}
	}
	c.cfg, c.cfgErr = config.LoadBytes(raw, func(k string) string { return env[k] })
}

func k8sAdapterContainers(t *testing.T, objs []yamlDoc) []adapterContainer {
	t.Helper()
	configMaps := map[string]map[string]string{}
	for _, cm := range byKind(objs, "ConfigMap") {
		configMaps[cm.Name()] = stringMap(cm.Data["data"])
	}
	var out []adapterContainer
	for _, dep := range byKind(objs, "Deployment") {
		pod := mapOf(dig(dep.Data, "spec", "template", "spec"))
		grace := 30
		if g, ok := num(pod["terminationGracePeriodSeconds"]); ok {
			grace = g
		}
		for _, raw := range listOf(pod["containers"]) {
			ct := mapOf(raw)
			if imageBase(str(ct["image"])) != imageName {
				continue
			}
			c := adapterContainer{
				Where:       fmt.Sprintf("%s, container %s", dep.where(), str(ct["name"])),
				Source:      "k8s",
				Object:      dep,
				Image:       str(ct["image"]),
				Command:     stringList(ct["command"]),
				Args:        stringList(ct["args"]),
				Env:         map[string]string{},
				Ports:       map[int]string{},
				Annotations: stringMap(dig(dep.Data, "spec", "template", "metadata", "annotations")),
				PodSec:      mapOf(pod["securityContext"]),
				ContainerSc: mapOf(ct["securityContext"]),
			}
			for _, e := range listOf(ct["env"]) {
				em := mapOf(e)
				name := str(em["name"])
				switch vf := mapOf(em["valueFrom"]); {
				case vf == nil:
					c.Env[name] = str(em["value"])
				case vf["secretKeyRef"] != nil:
					c.Env[name] = "placeholder-secret-" + str(dig(vf, "secretKeyRef", "key"))
				case vf["configMapKeyRef"] != nil:
					c.Env[name] = configMaps[str(dig(vf, "configMapKeyRef", "name"))][str(dig(vf, "configMapKeyRef", "key"))]
				default:
					c.Env[name] = "from-runtime"
				}
			}
			portNames := map[string]int{}
			for _, p := range listOf(ct["ports"]) {
				pm := mapOf(p)
				n, _ := num(pm["containerPort"])
				c.Ports[n] = "ports[].containerPort"
				if name := str(pm["name"]); name != "" {
					portNames[name] = n
				}
			}
			for _, field := range []string{"startupProbe", "readinessProbe", "livenessProbe"} {
				pr := mapOf(ct[field])
				if pr == nil {
					continue
				}
				p := probe{Field: field, Path: str(dig(pr, "httpGet", "path"))}
				pv := dig(pr, "httpGet", "port")
				if n, ok := num(pv); ok {
					p.Port = n
				} else if n, ok := portNames[str(pv)]; ok {
					p.Port = n
				} else {
					p.Err = fmt.Sprintf("%s.httpGet.port %q names no container port", field, str(pv))
				}
				if dig(pr, "httpGet") == nil {
					p.Err = field + " is not an httpGet probe"
				}
				c.Probes = append(c.Probes, p)
			}
			preStop := 0
			if s, ok := num(dig(ct, "lifecycle", "preStop", "sleep", "seconds")); ok {
				preStop = s
			} else if cmd := stringList(dig(ct, "lifecycle", "preStop", "exec", "command")); len(cmd) == 2 && cmd[0] == "sleep" {
				preStop, _ = strconv.Atoi(cmd[1])
			}
			c.Grace = time.Duration(grace-preStop) * time.Second
			c.GraceField = fmt.Sprintf("terminationGracePeriodSeconds (%d) minus the preStop sleep (%d)", grace, preStop)

			if cp := configPathOf(c.Args, c.Env); cp != "" {
				c.ConfigErr = fmt.Sprintf("no volumeMount provides %s from a ConfigMap", cp)
				volumes := map[string]map[string]any{}
				for _, v := range listOf(pod["volumes"]) {
					volumes[str(mapOf(v)["name"])] = mapOf(v)
				}
				for _, vmRaw := range listOf(ct["volumeMounts"]) {
					vm := mapOf(vmRaw)
					mount, sub := str(vm["mountPath"]), str(vm["subPath"])
					key := ""
					switch {
					case sub == "" && path.Dir(cp) == path.Clean(mount):
						key = path.Base(cp)
					case sub != "" && path.Clean(mount) == cp:
						key = sub
					default:
						continue
					}
					cmName := str(dig(volumes[str(vm["name"])], "configMap", "name"))
					data, ok := configMaps[cmName]
					if !ok {
						c.ConfigErr = fmt.Sprintf("volume %q mounted at %s is not a ConfigMap of deploy/k8s", str(vm["name"]), mount)
						continue
					}
					v, ok := data[key]
					if !ok {
						c.ConfigErr = fmt.Sprintf("ConfigMap %s has no key %q (mounted at %s)", cmName, key, mount)
						continue
					}
					c.ConfigRaw, c.ConfigFrom, c.ConfigErr = []byte(v), fmt.Sprintf("ConfigMap %s key %s", cmName, key), ""
				}
			}
			c.loadConfig()
			out = append(out, c)
		}
	}
	return out
}

const composeFile = "compose/docker-compose.yaml"

func composeServices(t *testing.T) map[string]map[string]any {
	t.Helper()
	docs := loadYAML(t, composeFile)
	require.Len(t, docs, 1, "%s: want one document", composeFile)
	out := map[string]map[string]any{}
	for name, s := range mapOf(docs[0].Data["services"]) {
		out[name] = mapOf(s)
	}
	require.NotEmpty(t, out, "%s: services is empty", composeFile)
	return out
}

func composeAdapterContainers(t *testing.T, services map[string]map[string]any) []adapterContainer {
	t.Helper()
	var out []adapterContainer
	for name, svc := range services {
		if imageBase(str(svc["image"])) != imageName {
			continue
		}
		c := adapterContainer{
			Where:   fmt.Sprintf("%s: services.%s", composeFile, name),
			Source:  "compose",
			Image:   str(svc["image"]),
			Command: stringList(svc["entrypoint"]),
			Args:    stringList(svc["command"]),
			Env:     composeEnv(svc["environment"]),
			Ports:   map[int]string{},
		}
		for i, a := range c.Args {
			c.Args[i] = composeInterpolate(a)
		}
		for _, p := range listOf(svc["ports"]) {
			spec := str(p)
			if pm := mapOf(p); pm != nil {
				spec = str(pm["target"])
			}
			spec, _, _ = strings.Cut(spec, "/")
			target := spec[strings.LastIndex(spec, ":")+1:]
			n, err := strconv.Atoi(target)
			require.NoError(t, err, "%s: ports entry %q", c.Where, str(p))
			c.Ports[n] = "ports"
		}
		if hc := mapOf(svc["healthcheck"]); hc != nil {
			p := probe{Field: "healthcheck.test"}
			u := urlInText.FindString(strings.Join(stringList(hc["test"]), " "))
			if pu, err := url.Parse(u); u == "" || err != nil {
				p.Err = "healthcheck.test has no http:// URL"
			} else {
				p.Path = pu.Path
				p.Port, _ = strconv.Atoi(pu.Port())
			}
			c.Probes = append(c.Probes, p)
		}
		c.Grace, c.GraceField = 10*time.Second, "stop_grace_period (unset: 10s)"
		if g := str(svc["stop_grace_period"]); g != "" {
			d, err := time.ParseDuration(g)
			require.NoError(t, err, "%s: stop_grace_period %q", c.Where, g)
			c.Grace, c.GraceField = d, "stop_grace_period"
		}
		c.Replicas, _ = num(dig(svc, "deploy", "replicas"))
		if cp := configPathOf(c.Args, c.Env); cp != "" {
			c.ConfigErr = fmt.Sprintf("no volume mounts %s", cp)
			for _, v := range listOf(svc["volumes"]) {
				parts := strings.Split(str(v), ":")
				if len(parts) < 2 || parts[1] != cp {
					continue
				}
				host := filepath.Join(filepath.Dir(composeFile), parts[0])
				raw, err := os.ReadFile(host)
				if err != nil {
					c.ConfigErr = fmt.Sprintf("volume %s: %v", str(v), err)
					continue
				}
				c.ConfigRaw, c.ConfigFrom, c.ConfigErr = raw, host, ""
			}
		}
		c.loadConfig()
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Where < out[j].Where })
	return out
}

// TestAdapterContainers checks every container that runs praxis-adapter,
// in the Kubernetes manifests and in the compose file, against the binary:
// its subcommand and flags, its environment variable names, the config it
// loads, the ports it listens on versus the ports declared and probed, the
// probe paths, the metrics annotations and the shutdown budget.
func TestAdapterContainers(t *testing.T) {
	objs := k8sObjects(t)
	containers := append(k8sAdapterContainers(t, objs), composeAdapterContainers(t, composeServices(t))...)

	roles := map[string]map[string]bool{"k8s": {}, "compose": {}}
	for _, c := range containers {
		roles[c.Source][c.Role()] = true
	}
	assert.Equal(t, map[string]bool{"ingress": true, "worker": true}, roles["k8s"], "deploy/k8s must run one ingress and one worker Deployment")
	assert.Equal(t, map[string]bool{"ingress": true, "worker": true, "sim": true}, roles["compose"], "%s must run ingress, worker and sim", composeFile)

	commands := cliCommands(t)
	// Flags of the subcommands the containers run (asking every subcommand
	// for -h is not side-effect free: operator commands may connect first).
	flagDefs := map[string]map[string]bool{}
	for _, c := range containers {
		if commands[c.Role()] && flagDefs[c.Role()] == nil {
			flagDefs[c.Role()] = cliFlags(t, c.Role())
		}
	}
	knownEnv := map[string]bool{}
	for _, n := range config.EnvNames() {
		knownEnv[n] = true
	}
	cliEnv := cliEnvNames(t)
	uid := dockerUID(t)
	servesConfig := map[string]bool{"run": true, "ingress": true, "worker": true}

	checks := []struct {
		name string
		run  func(t *testing.T, c adapterContainer)
	}{
		{"entrypoint is the image's", func(t *testing.T, c adapterContainer) {
			field := map[string]string{"k8s": "command", "compose": "entrypoint"}[c.Source]
			assert.Empty(t, c.Command, "%s: leave %s unset: the image's ENTRYPOINT is the binary; put the subcommand in args", c.Where, field)
		}},
		{"subcommand exists", func(t *testing.T, c adapterContainer) {
			assert.True(t, commands[c.Role()], "%s: args[0] %q is not a praxis-adapter subcommand (have %v)", c.Where, c.Role(), keys(commands))
		}},
		{"flags exist", func(t *testing.T, c adapterContainer) {
			if !commands[c.Role()] {
				t.Skip("unknown subcommand, reported above")
			}
			_, rest, err := parseArgs(c.Args[1:], flagDefs[c.Role()])
			assert.NoError(t, err, "%s: args %v (flags of `praxis-adapter %s -h`: %v)", c.Where, c.Args, c.Role(), keys(flagDefs[c.Role()]))
			assert.Empty(t, rest, "%s: args: unexpected positional arguments %v", c.Where, rest)
		}},
		{"env names are read by the binary", func(t *testing.T, c adapterContainer) {
			secretNames := map[string]bool{}
			for _, a := range c.parsed.Applications {
				secretNames[a.SecretEnv], secretNames[a.PreviousSecretEnv] = true, true
			}
			for name := range c.Env {
				ok := knownEnv[name] || cliEnv[name] || secretNames[name] || goRuntimeEnv[name]
				assert.True(t, ok, "%s: env %s is read by nothing: not in config.EnvNames(), not read by the CLI, not a secret_env of %s", c.Where, name, c.ConfigFrom)
			}
		}},
		{"config loads", func(t *testing.T, c adapterContainer) {
			if !servesConfig[c.Role()] {
				t.Skip("this subcommand reads no config file")
			}
			require.Empty(t, c.ConfigErr, "%s: -config: %s", c.Where, c.ConfigErr)
			require.NotNil(t, c.ConfigRaw, "%s: give -config (or PRAXIS_CONFIG) and mount the file", c.Where)
			assert.NoError(t, c.cfgErr, "%s: the config (%s) does not load with this container's environment", c.Where, c.ConfigFrom)
		}},
		{"listens where it is reached", func(t *testing.T, c adapterContainer) {
			ls := listenersOf(t, c, flagDefs)
			if len(ls) == 0 {
				return
			}
			ports := map[int]string{}
			for _, l := range ls {
				assert.True(t, reachable(l.addr), "%s: %s is %q: set 0.0.0.0:<port>, or probes and peers cannot reach it", c.Where, l.field, l.addr)
				port, err := portOf(l.addr)
				require.NoError(t, err, "%s: %s %q", c.Where, l.field, l.addr)
				ports[port] = l.field
				if c.Source == "k8s" {
					assert.Contains(t, c.Ports, port, "%s: ports: no containerPort %d for %s=%s", c.Where, port, l.field, l.addr)
				}
			}
			for p := range c.Ports {
				assert.Contains(t, ports, p, "%s: %s: port %d is declared but the process listens on none of %v", c.Where, c.Ports[p], p, ports)
			}
			// Probes go to the admin listener where there is one (the
			// webhook port faces the internet and serves no details).
			probePort, probeField := 0, ""
			for _, l := range ls {
				probePort, probeField = portOfOr(l.addr), l.field
				if l.admin {
					break
				}
			}
			require.NotEmpty(t, c.Probes, "%s: no probe/healthcheck", c.Where)
			for _, pr := range c.Probes {
				require.Empty(t, pr.Err, "%s: %s", c.Where, pr.Err)
				assert.Equal(t, probePort, pr.Port, "%s: %s port is %d, but %s is %d", c.Where, pr.Field, pr.Port, probeField, probePort)
			}
		}},
		{"probe paths", func(t *testing.T, c adapterContainer) {
			if c.Role() == "sim" {
				for _, pr := range c.Probes {
					assert.True(t, strings.HasPrefix(pr.Path, "/sim/"), "%s: %s path %q: probe the simulator's GET test API (/sim/...)", c.Where, pr.Field, pr.Path)
				}
				return
			}
			want := map[string][]string{
				"readinessProbe":   {ingress.PathReadyz},
				"livenessProbe":    {ingress.PathHealthz},
				"startupProbe":     {ingress.PathHealthz},
				"healthcheck.test": {ingress.PathReadyz, ingress.PathHealthz},
			}
			have := map[string]bool{}
			for _, pr := range c.Probes {
				have[pr.Field] = true
				assert.Contains(t, want[pr.Field], pr.Path, "%s: %s path %q, want one of %v (ingress.PathReadyz / PathHealthz)", c.Where, pr.Field, pr.Path, want[pr.Field])
			}
			if c.Source == "k8s" {
				assert.True(t, have["readinessProbe"], "%s: readinessProbe on %s is missing", c.Where, ingress.PathReadyz)
				assert.True(t, have["livenessProbe"], "%s: livenessProbe on %s is missing", c.Where, ingress.PathHealthz)
			}
		}},
		{"prometheus scrape annotations", func(t *testing.T, c adapterContainer) {
			if c.Source != "k8s" {
				t.Skip("compose has no scraper")
			}
			addr, field := "", ""
			for _, l := range listenersOf(t, c, flagDefs) {
				if l.admin {
					addr, field = l.addr, l.field
				}
			}
			if addr == "" {
				t.Skip("admin listen address unknown (the config does not load, reported above)")
			}
			port, _ := portOf(addr)
			assert.Equal(t, "true", c.Annotations["prometheus.io/scrape"], "%s: spec.template.metadata.annotations[prometheus.io/scrape] must be \"true\"", c.Where)
			assert.Equal(t, strconv.Itoa(port), c.Annotations["prometheus.io/port"], "%s: annotations[prometheus.io/port] must be the %s port", c.Where, field)
			assert.Equal(t, ingress.PathMetrics, c.Annotations["prometheus.io/path"], "%s: annotations[prometheus.io/path]", c.Where)
		}},
		{"shutdown budget", func(t *testing.T, c adapterContainer) {
			if c.cfg == nil {
				t.Skip("no config")
			}
			assert.Greater(t, c.Grace, c.cfg.ShutdownTimeout, "%s: %s = %v must exceed shutdown_timeout (%v), or the process is killed mid-drain", c.Where, c.GraceField, c.Grace, c.cfg.ShutdownTimeout)
			if c.Role() == "worker" {
				assert.Less(t, c.cfg.Worker.DrainTimeout, c.cfg.ShutdownTimeout, "%s: worker.drain_timeout must be below shutdown_timeout in %s", c.Where, c.ConfigFrom)
			}
		}},
		{"shared NATS and Redis", func(t *testing.T, c adapterContainer) {
			if c.cfg == nil || (c.Role() != "ingress" && c.Role() != "worker") {
				t.Skip("single-process role or no config")
			}
			assert.NotEmpty(t, c.cfg.NATS.URL, "%s: set nats.url or NATS_URL: empty starts an embedded NATS server in every replica", c.Where)
			assert.NotEmpty(t, c.cfg.Redis.URL, "%s: set redis.url or REDIS_URL: empty uses a per-process store", c.Where)
			if c.Role() == "worker" {
				assert.NotEmpty(t, c.cfg.Praxis.BaseURL, "%s: set praxis.base_url or PRAXIS_BASE_URL: `worker` refuses to start without it", c.Where)
			}
		}},
		{"runs as the image's non-root user", func(t *testing.T, c adapterContainer) {
			if c.Source != "k8s" {
				t.Skip("compose inherits the image's USER")
			}
			assertImageUser(t, c, uid)
		}},
	}
	for _, c := range containers {
		t.Run(c.Where, func(t *testing.T) {
			for _, ch := range checks {
				t.Run(ch.name, func(t *testing.T) { ch.run(t, c) })
			}
		})
	}
}

// listener is one address a container's role listens on, the field that
// sets it, and whether it is the admin listener (probes, metrics).
type listener struct {
	addr, field string
	admin       bool
}

// listenersOf lists the addresses the container's role listens on: the
// webhook listener (ingress, run) and the admin listener (every role).
func listenersOf(t *testing.T, c adapterContainer, flagDefs map[string]map[string]bool) []listener {
	t.Helper()
	admin := func() []listener {
		if c.cfg.Admin.Listen == config.AdminOff {
			return nil
		}
		return []listener{{addr: c.cfg.Admin.Listen, field: "admin.listen (env PRAXIS_ADMIN_LISTEN)", admin: true}}
	}
	switch c.Role() {
	case "ingress", "run":
		if c.cfg != nil {
			return append([]listener{{addr: c.cfg.Ingress.Listen, field: "ingress.listen (env PRAXIS_INGRESS_LISTEN)"}}, admin()...)
		}
	case "worker":
		if c.cfg != nil {
			return admin()
		}
	case "sim":
		vals, _, err := parseArgs(c.Args[1:], flagDefs["sim"])
		require.NoError(t, err, "%s: args", c.Where)
		if vals["listen"] == "" {
			assert.Fail(t, "sim -listen is unset", "%s: pass -listen 0.0.0.0:<port>; the default listens on 127.0.0.1 only", c.Where)
			return nil
		}
		return []listener{{addr: vals["listen"], field: "sim -listen"}}
	}
	return nil
}

func portOfOr(addr string) int {
	p, _ := portOf(addr)
	return p
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ---------------------------------------------------------------------------
// Kubernetes objects that refer to each other

// TestKubernetesObjectsAgree: Services, PodDisruptionBudgets, autoscalers
// and Secret references point at what exists, KEDA watches the stream and
// consumer the worker uses, and the kustomization lists every manifest.
func TestKubernetesObjectsAgree(t *testing.T) {
	objs := k8sObjects(t)
	containers := k8sAdapterContainers(t, objs)
	podLabels := map[string]map[string]string{}
	for _, d := range byKind(objs, "Deployment") {
		podLabels[d.Name()] = stringMap(dig(d.Data, "spec", "template", "metadata", "labels"))
		sel := stringMap(dig(d.Data, "spec", "selector", "matchLabels"))
		assert.True(t, subset(sel, podLabels[d.Name()]), "%s: spec.selector.matchLabels must match spec.template.metadata.labels", d.where())
		assert.Nil(t, dig(d.Data, "spec", "replicas"), "%s: spec.replicas must be unset: an autoscaler owns it", d.where())
	}
	for _, c := range containers {
		require.NotNil(t, c.cfg, "%s: config does not load (see TestAdapterContainers)", c.Where)
	}
	byRole := func(role string) (yamlDoc, adapterContainer) {
		for _, c := range containers {
			if c.Role() == role {
				return c.Object, c
			}
		}
		require.Failf(t, "missing Deployment", "deploy/k8s has no Deployment running `praxis-adapter %s`", role)
		return yamlDoc{}, adapterContainer{}
	}
	ingDep, ingC := byRole("ingress")
	wrkDep, wrkC := byRole("worker")
	matches := func(sel map[string]string) []string {
		var out []string
		for name, l := range podLabels {
			if subset(sel, l) {
				out = append(out, name)
			}
		}
		sort.Strings(out)
		return out
	}

	t.Run("Service", func(t *testing.T) {
		svcs := byKind(objs, "Service")
		require.Len(t, svcs, 1, "deploy/k8s: want one Service, for the ingress")
		svc := svcs[0]
		assert.Equal(t, []string{ingDep.Name()}, matches(stringMap(dig(svc.Data, "spec", "selector"))), "%s: spec.selector must select the ingress pods only", svc.where())
		ingPort, _ := portOf(ingC.cfg.Ingress.Listen)
		names := map[string]int{}
		for _, p := range listOf(dig(ingDep.Data, "spec", "template", "spec", "containers")) {
			for _, cp := range listOf(mapOf(p)["ports"]) {
				n, _ := num(mapOf(cp)["containerPort"])
				names[str(mapOf(cp)["name"])] = n
			}
		}
		for i, p := range listOf(dig(svc.Data, "spec", "ports")) {
			tp := mapOf(p)["targetPort"]
			n, ok := num(tp)
			if !ok {
				n = names[str(tp)]
			}
			assert.Equal(t, ingPort, n, "%s: spec.ports[%d].targetPort %v must reach ingress.listen %s", svc.where(), i, tp, ingC.cfg.Ingress.Listen)
		}
	})

	t.Run("PodMonitor", func(t *testing.T) {
		pms := byKind(objs, "PodMonitor")
		require.Len(t, pms, 1, "deploy/k8s: want one PodMonitor scraping the admin port of every adapter pod")
		pm := pms[0]
		assert.Equal(t, []string{ingDep.Name(), wrkDep.Name()}, matches(stringMap(dig(pm.Data, "spec", "selector", "matchLabels"))),
			"%s: spec.selector.matchLabels must select the ingress and the worker pods", pm.where())
		eps := listOf(dig(pm.Data, "spec", "podMetricsEndpoints"))
		require.NotEmpty(t, eps, "%s: spec.podMetricsEndpoints", pm.where())
		for _, dc := range []struct {
			dep yamlDoc
			c   adapterContainer
		}{{ingDep, ingC}, {wrkDep, wrkC}} {
			adminPort, _ := portOf(dc.c.cfg.Admin.Listen)
			names := map[string]int{}
			for _, p := range listOf(dig(dc.dep.Data, "spec", "template", "spec", "containers")) {
				for _, cp := range listOf(mapOf(p)["ports"]) {
					n, _ := num(mapOf(cp)["containerPort"])
					names[str(mapOf(cp)["name"])] = n
				}
			}
			for i, ep := range eps {
				port := str(mapOf(ep)["port"])
				assert.Equal(t, adminPort, names[port], "%s: podMetricsEndpoints[%d].port %q must name %s's containerPort of admin.listen %s",
					pm.where(), i, port, dc.dep.Name(), dc.c.cfg.Admin.Listen)
				assert.Equal(t, ingress.PathMetrics, str(mapOf(ep)["path"]), "%s: podMetricsEndpoints[%d].path", pm.where(), i)
			}
		}
	})

	t.Run("PodDisruptionBudgets", func(t *testing.T) {
		pdbs := byKind(objs, "PodDisruptionBudget")
		require.NotEmpty(t, pdbs, "deploy/k8s: no PodDisruptionBudget")
		covered := map[string]bool{}
		for _, p := range pdbs {
			m := matches(stringMap(dig(p.Data, "spec", "selector", "matchLabels")))
			assert.Len(t, m, 1, "%s: spec.selector.matchLabels must select exactly one Deployment's pods, selects %v", p.where(), m)
			for _, n := range m {
				covered[n] = true
			}
		}
		assert.True(t, covered[ingDep.Name()], "deploy/k8s: no PodDisruptionBudget selects %s", ingDep.where())
	})

	t.Run("HorizontalPodAutoscaler", func(t *testing.T) {
		hpas := byKind(objs, "HorizontalPodAutoscaler")
		require.Len(t, hpas, 1, "deploy/k8s: want one HorizontalPodAutoscaler, for the ingress")
		h := hpas[0]
		assert.Equal(t, ingDep.Name(), str(dig(h.Data, "spec", "scaleTargetRef", "name")), "%s: spec.scaleTargetRef.name must be the ingress Deployment", h.where())
		assert.Equal(t, "Deployment", str(dig(h.Data, "spec", "scaleTargetRef", "kind")), "%s: spec.scaleTargetRef.kind", h.where())
		cpu := false
		for _, m := range listOf(dig(h.Data, "spec", "metrics")) {
			cpu = cpu || str(dig(m, "resource", "name")) == "cpu"
		}
		assert.True(t, cpu, "%s: spec.metrics must scale on the cpu resource", h.where())
		minR, _ := num(dig(h.Data, "spec", "minReplicas"))
		for _, p := range byKind(objs, "PodDisruptionBudget") {
			if m := matches(stringMap(dig(p.Data, "spec", "selector", "matchLabels"))); len(m) == 1 && m[0] == ingDep.Name() {
				minA, _ := num(dig(p.Data, "spec", "minAvailable"))
				assert.Less(t, minA, minR, "%s: spec.minAvailable must be below %s spec.minReplicas, or node drains block", p.where(), h.where())
			}
		}
		for _, ct := range listOf(dig(ingDep.Data, "spec", "template", "spec", "containers")) {
			assert.NotEmpty(t, str(dig(ct, "resources", "requests", "cpu")), "%s: container %s: resources.requests.cpu is needed for CPU utilisation scaling", ingDep.where(), str(mapOf(ct)["name"]))
		}
	})

	t.Run("KEDA ScaledObject", func(t *testing.T) {
		sos := byKind(objs, "ScaledObject")
		require.Len(t, sos, 1, "deploy/k8s: want one KEDA ScaledObject, for the worker")
		so := sos[0]
		assert.Equal(t, wrkDep.Name(), str(dig(so.Data, "spec", "scaleTargetRef", "name")), "%s: spec.scaleTargetRef.name must be the worker Deployment", so.where())
		minR, _ := num(dig(so.Data, "spec", "minReplicaCount"))
		assert.GreaterOrEqual(t, minR, 1, "%s: spec.minReplicaCount: never scale the worker to zero", so.where())
		triggers := listOf(dig(so.Data, "spec", "triggers"))
		require.Len(t, triggers, 1, "%s: spec.triggers", so.where())
		tr := mapOf(triggers[0])
		md := stringMap(tr["metadata"])
		assert.Equal(t, "nats-jetstream", str(tr["type"]), "%s: spec.triggers[0].type", so.where())
		assert.Equal(t, subjects.StreamCommands, md["stream"], "%s: spec.triggers[0].metadata.stream must be subjects.StreamCommands", so.where())
		assert.Equal(t, subjects.ConsumerWorker, md["consumer"], "%s: spec.triggers[0].metadata.consumer must be subjects.ConsumerWorker", so.where())
		lag, err := strconv.Atoi(md["lagThreshold"])
		require.NoError(t, err, "%s: spec.triggers[0].metadata.lagThreshold must be an integer string", so.where())
		assert.Positive(t, lag, "%s: lagThreshold", so.where())
		assert.LessOrEqual(t, lag, wrkC.cfg.Worker.MaxInFlight, "%s: lagThreshold %d exceeds worker.max_in_flight %d: replicas would saturate before KEDA adds one", so.where(), lag, wrkC.cfg.Worker.MaxInFlight)
		endpoint := md["natsServerMonitoringEndpoint"]
		port, err := portOf(endpoint)
		require.NoError(t, err, "%s: natsServerMonitoringEndpoint %q must be host:port", so.where(), endpoint)
		assert.Equal(t, natsMonitorPort(t), port, "%s: natsServerMonitoringEndpoint port must be helm/nats-values.yaml config.monitor.port", so.where())
		assert.NotEmpty(t, md["account"], "%s: metadata.account ($G without NATS accounts)", so.where())
	})

	t.Run("Secret references", func(t *testing.T) {
		secrets := loadYAML(t, "k8s/secret.example.yaml")
		require.Len(t, secrets, 1)
		sec := secrets[0]
		have := stringMap(sec.Data["stringData"])
		for k := range stringMap(sec.Data["data"]) {
			have[k] = ""
		}
		used := map[string]bool{}
		for _, d := range byKind(objs, "Deployment") {
			for _, ct := range listOf(dig(d.Data, "spec", "template", "spec", "containers")) {
				for _, e := range listOf(mapOf(ct)["env"]) {
					ref := mapOf(dig(e, "valueFrom", "secretKeyRef"))
					if ref == nil {
						continue
					}
					key := str(ref["key"])
					used[key] = true
					assert.Equal(t, sec.Name(), str(ref["name"]), "%s: env %s: secretKeyRef.name must be %s (k8s/secret.example.yaml)", d.where(), str(mapOf(e)["name"]), sec.Name())
					if ref["optional"] != true {
						_, ok := have[key]
						assert.True(t, ok, "%s: env %s: secretKeyRef.key %q is not in k8s/secret.example.yaml (add it, or mark it optional)", d.where(), str(mapOf(e)["name"]), key)
					}
				}
			}
		}
		for k := range have {
			assert.True(t, used[k], "k8s/secret.example.yaml: key %s is used by no Deployment", k)
		}
	})

	t.Run("kustomization", func(t *testing.T) {
		ks := loadYAML(t, "k8s/kustomization.yaml")
		require.Len(t, ks, 1)
		k := ks[0]
		listed := map[string]bool{}
		for _, r := range listOf(k.Data["resources"]) {
			listed[str(r)] = true
			_, err := os.Stat(filepath.Join("k8s", str(r)))
			assert.NoError(t, err, "k8s/kustomization.yaml: resources: %s does not exist", str(r))
		}
		for _, f := range deployFiles(t, ".yaml") {
			name, ok := strings.CutPrefix(f, "k8s/")
			if !ok || name == "kustomization.yaml" || strings.Contains(name, ".example.") {
				continue
			}
			assert.True(t, listed[name], "k8s/kustomization.yaml: resources: %s is missing", name)
		}
		assert.False(t, listed["secret.example.yaml"], "k8s/kustomization.yaml: never apply the example Secret's placeholders")
		imgs := map[string]bool{}
		for _, i := range listOf(k.Data["images"]) {
			imgs[str(mapOf(i)["name"])] = true
		}
		for _, c := range containers {
			name, _, _ := imageRef(c.Image)
			assert.True(t, imgs[name], "k8s/kustomization.yaml: images: no entry named %q for %s", name, c.Where)
		}
	})

	t.Run("streams are R3 on the 3-node cluster", func(t *testing.T) {
		clusterReplicas, _ := num(dig(natsValues(t), "config", "cluster", "replicas"))
		for _, c := range containers {
			assert.Equal(t, 3, c.cfg.NATS.Streams.Replicas, "%s: nats.streams.replicas in %s must be 3 (R3)", c.Where, c.ConfigFrom)
			assert.LessOrEqual(t, c.cfg.NATS.Streams.Replicas, clusterReplicas, "%s: nats.streams.replicas exceeds helm/nats-values.yaml config.cluster.replicas", c.Where)
			u, err := url.Parse(strings.Split(c.cfg.NATS.URL, ",")[0])
			require.NoError(t, err, "%s: nats.url", c.Where)
			assert.Equal(t, strconv.Itoa(natsClientPort(t)), u.Port(), "%s: nats.url port must be the NATS chart's client port", c.Where)
		}
	})
}

// ---------------------------------------------------------------------------
// Helm values

func natsValues(t *testing.T) map[string]any {
	t.Helper()
	docs := loadYAML(t, "helm/nats-values.yaml")
	require.Len(t, docs, 1)
	return docs[0].Data
}

// natsMonitorPort is the NATS chart's monitoring port (chart default 8222).
func natsMonitorPort(t *testing.T) int {
	if p, ok := num(dig(natsValues(t), "config", "monitor", "port")); ok {
		return p
	}
	return 8222
}

// natsClientPort is the NATS chart's client port (chart default 4222).
func natsClientPort(t *testing.T) int {
	if p, ok := num(dig(natsValues(t), "config", "nats", "port")); ok {
		return p
	}
	return 4222
}

// TestHelmValues: NATS is a 3-node JetStream cluster on file storage with
// PVCs and monitoring on; Redis replicates, persists and never evicts.
func TestHelmValues(t *testing.T) {
	v := natsValues(t)
	const nf = "helm/nats-values.yaml"
	tests := []struct {
		file, field string
		got, want   any
	}{
		{nf, "config.cluster.enabled", dig(v, "config", "cluster", "enabled"), true},
		{nf, "config.cluster.replicas", dig(v, "config", "cluster", "replicas"), 3},
		{nf, "config.jetstream.enabled", dig(v, "config", "jetstream", "enabled"), true},
		{nf, "config.jetstream.fileStore.enabled", dig(v, "config", "jetstream", "fileStore", "enabled"), true},
		{nf, "config.jetstream.fileStore.pvc.enabled", dig(v, "config", "jetstream", "fileStore", "pvc", "enabled"), true},
		{nf, "config.jetstream.memoryStore.enabled", dig(v, "config", "jetstream", "memoryStore", "enabled"), false},
		{nf, "config.monitor.enabled (KEDA reads /jsz)", dig(v, "config", "monitor", "enabled"), true},
	}
	docs := loadYAML(t, "helm/redis-values.yaml")
	require.Len(t, docs, 1)
	r := docs[0].Data
	const rf = "helm/redis-values.yaml"
	tests = append(tests, []struct {
		file, field string
		got, want   any
	}{
		{rf, "architecture", r["architecture"], "replication"},
		{rf, "auth.enabled", dig(r, "auth", "enabled"), true},
		{rf, "master.persistence.enabled", dig(r, "master", "persistence", "enabled"), true},
		{rf, "commonConfiguration has maxmemory-policy noeviction", strings.Contains(str(r["commonConfiguration"]), "maxmemory-policy noeviction"), true},
		{rf, "commonConfiguration has appendonly yes", strings.Contains(str(r["commonConfiguration"]), "appendonly yes"), true},
	}...)
	for _, tc := range tests {
		t.Run(tc.file+" "+tc.field, func(t *testing.T) {
			assert.Equal(t, tc.want, tc.got, "%s: %s", tc.file, tc.field)
		})
	}
	t.Run(nf+" max_payload fits a webhook", func(t *testing.T) {
		mp := strings.Trim(strings.TrimSpace(str(dig(v, "config", "merge", "max_payload"))), "<> ")
		require.NotEmpty(t, mp, "%s: config.merge.max_payload: raise it above ingress.max_body_bytes plus the CloudEvent envelope", nf)
		assert.Greater(t, parseSize(t, mp), int64(1<<20), "%s: config.merge.max_payload %s must exceed the default ingress.max_body_bytes (1 MiB) plus the envelope", nf, mp)
	})
}

func parseSize(t *testing.T, s string) int64 {
	t.Helper()
	m := regexp.MustCompile(`^(\d+)\s*([KMG]?)B?$`).FindStringSubmatch(strings.ToUpper(s))
	require.NotNil(t, m, "size %q", s)
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n << map[string]int{"": 0, "K": 10, "M": 20, "G": 30}[m[2]]
}

// ---------------------------------------------------------------------------
// Compose

// TestCompose: the local stack is a 3-node NATS cluster built from one
// config file that nats-server accepts, the adapter's URLs point at the
// services that exist, the simulator accepts the workers' credentials, and
// two workers share the consumer.
func TestCompose(t *testing.T) {
	services := composeServices(t)
	containers := composeAdapterContainers(t, services)

	natsSvcs := map[string]map[string]any{}
	var redisSvc string
	for name, s := range services {
		switch imageBase(str(s["image"])) {
		case "nats":
			natsSvcs[name] = s
		case "redis":
			redisSvc = name
		}
	}
	require.Len(t, natsSvcs, 3, "%s: want three NATS services (a 3-node cluster)", composeFile)
	require.NotEmpty(t, redisSvc, "%s: no redis service", composeFile)

	var opts *server.Options
	serverNames := map[string]bool{}
	for name, s := range natsSvcs {
		where := fmt.Sprintf("%s: services.%s", composeFile, name)
		cmd := stringList(s["command"])
		vals := map[string]string{}
		for i := 0; i+1 < len(cmd); i++ {
			if strings.HasPrefix(cmd[i], "-") {
				vals[strings.TrimLeft(cmd[i], "-")] = cmd[i+1]
			}
		}
		sn := vals["server_name"] + vals["name"] + vals["n"]
		assert.NotEmpty(t, sn, "%s: command: pass --server_name (JetStream clusters need unique names)", where)
		assert.False(t, serverNames[sn], "%s: --server_name %s is used twice", where, sn)
		serverNames[sn] = true
		confPath := vals["config"] + vals["c"]
		require.NotEmpty(t, confPath, "%s: command: pass --config", where)
		host := ""
		for _, v := range listOf(s["volumes"]) {
			if parts := strings.Split(str(v), ":"); len(parts) >= 2 && parts[1] == confPath {
				host = filepath.Join(filepath.Dir(composeFile), parts[0])
			}
		}
		require.NotEmpty(t, host, "%s: volumes: nothing mounts %s", where, confPath)
		o, err := server.ProcessConfigFile(host)
		require.NoError(t, err, "%s: nats-server refuses %s", where, host)
		opts = o
		assert.True(t, o.JetStream, "%s: %s: jetstream {} is not enabled", where, host)
		routeHosts := map[string]bool{}
		for _, r := range o.Routes {
			routeHosts[r.Hostname()] = true
			assert.Equal(t, strconv.Itoa(o.Cluster.Port), r.Port(), "%s: %s: route %s must use cluster.port", where, host, r)
		}
		assert.Equal(t, keys(natsSvcs), keys(routeHosts), "%s: %s: cluster.routes must name exactly the NATS services", where, host)
		hc := urlInText.FindString(strings.Join(stringList(dig(s, "healthcheck", "test")), " "))
		hu, err := url.Parse(hc)
		require.True(t, hc != "" && err == nil, "%s: healthcheck.test needs the monitoring URL", where)
		assert.Equal(t, strconv.Itoa(o.HTTPPort), hu.Port(), "%s: healthcheck.test port must be http_port of %s", where, host)
		assert.GreaterOrEqual(t, o.MaxPayload, int32(2<<20), "%s: %s: max_payload must exceed ingress.max_body_bytes plus the envelope", where, host)
	}
	require.NotNil(t, opts)

	byRole := map[string][]adapterContainer{}
	for _, c := range containers {
		byRole[c.Role()] = append(byRole[c.Role()], c)
	}
	require.Len(t, byRole["sim"], 1, "%s: want one sim service", composeFile)
	require.Len(t, byRole["ingress"], 1, "%s: want one ingress service", composeFile)
	require.Len(t, byRole["worker"], 1, "%s: want one worker service with deploy.replicas: 2", composeFile)
	sim, ing, wrk := byRole["sim"][0], byRole["ingress"][0], byRole["worker"][0]
	require.NotNil(t, ing.cfg, "%s: config does not load (see TestAdapterContainers)", ing.Where)
	require.NotNil(t, wrk.cfg, "%s: config does not load (see TestAdapterContainers)", wrk.Where)
	svcName := func(c adapterContainer) string { return strings.TrimPrefix(c.Where, composeFile+": services.") }

	assert.GreaterOrEqual(t, wrk.Replicas, 2, "%s: deploy.replicas: run two workers on the shared consumer", wrk.Where)
	for _, c := range []adapterContainer{ing, wrk} {
		for _, u := range strings.Split(c.cfg.NATS.URL, ",") {
			pu, err := url.Parse(u)
			require.NoError(t, err, "%s: NATS_URL %q", c.Where, u)
			assert.Contains(t, natsSvcs, pu.Hostname(), "%s: NATS_URL host %s is not a NATS service", c.Where, pu.Hostname())
			assert.Equal(t, strconv.Itoa(opts.Port), pu.Port(), "%s: NATS_URL port must be nats.conf's port", c.Where)
		}
		ru, err := url.Parse(c.cfg.Redis.URL)
		require.NoError(t, err, "%s: REDIS_URL", c.Where)
		assert.Equal(t, redisSvc, ru.Hostname(), "%s: REDIS_URL host must be the redis service", c.Where)
		assert.Equal(t, 3, c.cfg.NATS.Streams.Replicas, "%s: nats.streams.replicas in %s must be 3 on the 3-node cluster", c.Where, c.ConfigFrom)
		for dep := range mapOf(services[svcName(c)]["depends_on"]) {
			assert.Contains(t, services, dep, "%s: depends_on names no service %s", c.Where, dep)
		}
	}

	simVals, _, err := parseArgs(sim.Args[1:], cliFlags(t, "sim"))
	require.NoError(t, err, "%s: command", sim.Where)
	simPort, err := portOf(simVals["listen"])
	require.NoError(t, err, "%s: -listen", sim.Where)
	bu, err := url.Parse(wrk.cfg.Praxis.BaseURL)
	require.NoError(t, err)
	assert.Equal(t, svcName(sim), bu.Hostname(), "%s: PRAXIS_BASE_URL host must be the sim service", wrk.Where)
	assert.Equal(t, strconv.Itoa(simPort), bu.Port(), "%s: PRAXIS_BASE_URL port must be the sim's -listen port", wrk.Where)
	pu, err := url.Parse(wrk.cfg.Ingress.PublicURL)
	require.NoError(t, err)
	ingPort, _ := portOf(ing.cfg.Ingress.Listen)
	assert.Equal(t, svcName(ing), pu.Hostname(), "%s: PRAXIS_PUBLIC_URL host must be the ingress service (the simulator sends webhooks there)", wrk.Where)
	assert.Equal(t, strconv.Itoa(ingPort), pu.Port(), "%s: PRAXIS_PUBLIC_URL port must be the ingress's listen port", wrk.Where)

	found := false
	for _, a := range wrk.cfg.Applications {
		if a.MerchantID == simVals["merchant-id"] && a.ApplicationKey == simVals["application-key"] {
			found = true
			require.NotEmpty(t, a.Secrets, "%s: application %s has no secret", wrk.Where, a.Name)
			assert.Equal(t, sim.Env["PRAXIS_SIM_SECRET"], a.Secrets[0], "%s: PRAXIS_SIM_SECRET must equal the secret of application %s (%s)", sim.Where, a.Name, a.SecretEnv)
			assert.Equal(t, wrk.Env[a.SecretEnv], ing.Env[a.SecretEnv], "%s and %s: %s must match", wrk.Where, ing.Where, a.SecretEnv)
		}
	}
	assert.True(t, found, "%s: -merchant-id/-application-key (%s/%s) match no application of %s", sim.Where, simVals["merchant-id"], simVals["application-key"], wrk.ConfigFrom)

	df := parseDockerfileT(t)
	for _, c := range containers {
		b := mapOf(services[svcName(c)]["build"])
		require.NotNil(t, b, "%s: build: build the image from deploy/Dockerfile", c.Where)
		ctx := filepath.Join(filepath.Dir(composeFile), str(b["context"]))
		_, err := os.Stat(filepath.Join(ctx, "go.mod"))
		assert.NoError(t, err, "%s: build.context must be the repository root", c.Where)
		got, _ := filepath.Abs(filepath.Join(ctx, str(b["dockerfile"])))
		want, _ := filepath.Abs("Dockerfile")
		assert.Equal(t, want, got, "%s: build.dockerfile must be deploy/Dockerfile relative to the context", c.Where)
		for arg := range mapOf(b["args"]) {
			_, ok := df.Args[arg]
			assert.True(t, ok, "%s: build.args.%s is not an ARG of deploy/Dockerfile", c.Where, arg)
		}
	}
}

// ---------------------------------------------------------------------------
// Dockerfile and .dockerignore

func parseDockerfileT(t *testing.T) dockerfile {
	t.Helper()
	raw, err := os.ReadFile("Dockerfile")
	require.NoError(t, err)
	df, err := parseDockerfile(string(raw))
	require.NoError(t, err, "deploy/Dockerfile")
	return df
}

// dockerUID is the numeric user of the final image.
func dockerUID(t *testing.T) int {
	t.Helper()
	df := parseDockerfileT(t)
	final := df.Stages[len(df.Stages)-1]
	for _, in := range final.Instrs {
		if in.Cmd == "USER" {
			uid, err := strconv.Atoi(strings.Split(in.Rest, ":")[0])
			require.NoError(t, err, "deploy/Dockerfile:%d: USER must be numeric (runAsNonRoot cannot check names)", in.Line)
			return uid
		}
	}
	require.Fail(t, "deploy/Dockerfile: the final stage has no USER")
	return 0
}

// TestDockerfile: a multi-stage static build, a minimal non-root base, the
// listen addresses reachable and EXPOSEd, and the entrypoint the binary.
func TestDockerfile(t *testing.T) {
	df := parseDockerfileT(t)
	require.GreaterOrEqual(t, len(df.Stages), 2, "deploy/Dockerfile: want a build stage and a runtime stage")
	final := df.Stages[len(df.Stages)-1]
	knownEnv := map[string]bool{}
	for _, n := range config.EnvNames() {
		knownEnv[n] = true
	}

	var build dockerInstr
	var buildStage dockerStage
	for _, st := range df.Stages[:len(df.Stages)-1] {
		for _, in := range st.Instrs {
			if in.Cmd == "RUN" && strings.Contains(in.Rest, "go build") {
				build, buildStage = in, st
			}
		}
	}
	require.NotEmpty(t, build.Rest, "deploy/Dockerfile: no RUN ... go build in a build stage")
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w`, "buildinfo.version=${VERSION}", "./cmd/praxis-adapter"} {
		assert.Contains(t, build.Rest, want, "deploy/Dockerfile:%d: the go build RUN must contain %s", build.Line, want)
	}
	_, err := os.Stat(filepath.Join(repoRoot, "cmd", "praxis-adapter"))
	assert.NoError(t, err, "deploy/Dockerfile builds ./cmd/praxis-adapter, which must exist")
	out := regexp.MustCompile(`-o\s+(\S+)`).FindStringSubmatch(build.Rest)
	require.NotNil(t, out, "deploy/Dockerfile:%d: go build needs -o <path>", build.Line)
	assert.True(t, strings.HasPrefix(buildStage.From, "golang:"), "deploy/Dockerfile: build stage FROM %s, want golang:<version>", buildStage.From)
	goMod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	require.NoError(t, err)
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(goMod)
	require.NotNil(t, goVer)
	assert.True(t, strings.HasPrefix(strings.TrimPrefix(buildStage.From, "golang:"), string(goVer[1])), "deploy/Dockerfile: GO_VERSION (%s) must match go.mod's go %s", buildStage.From, goVer[1])

	base := final.From
	assert.True(t, base == "scratch" || (strings.HasPrefix(base, "gcr.io/distroless/static") && strings.HasSuffix(base, ":nonroot")),
		"deploy/Dockerfile: the final FROM (BASE_IMAGE default) is %q, want gcr.io/distroless/static-debian12:nonroot or scratch", base)

	env := map[string]string{}
	var expose []int
	var entry []string
	var cmd []string
	copied := map[string]string{}
	for _, in := range final.Instrs {
		switch in.Cmd {
		case "ENV":
			for k, v := range envPairs(in.Rest) {
				env[k] = v
				assert.True(t, knownEnv[k], "deploy/Dockerfile:%d: ENV %s is not in config.EnvNames()", in.Line, k)
			}
		case "EXPOSE":
			for _, f := range strings.Fields(in.Rest) {
				n, err := strconv.Atoi(strings.Split(f, "/")[0])
				require.NoError(t, err, "deploy/Dockerfile:%d: EXPOSE %s", in.Line, f)
				expose = append(expose, n)
			}
		case "ENTRYPOINT":
			entry, err = jsonArray(in.Rest)
			require.NoError(t, err, "deploy/Dockerfile:%d: ENTRYPOINT", in.Line)
		case "CMD":
			cmd, err = jsonArray(in.Rest)
			require.NoError(t, err, "deploy/Dockerfile:%d: CMD", in.Line)
		case "COPY":
			f := strings.Fields(in.Rest)
			if len(f) >= 2 {
				copied[f[len(f)-2]] = f[len(f)-1]
			}
		}
	}
	uid := dockerUID(t)
	assert.NotZero(t, uid, "deploy/Dockerfile: USER must not be root")

	var wantPorts []int
	for _, name := range []string{"PRAXIS_INGRESS_LISTEN", "PRAXIS_ADMIN_LISTEN"} {
		addr := env[name]
		require.NotEmpty(t, addr, "deploy/Dockerfile: ENV %s must make the listener reachable in a container", name)
		assert.True(t, reachable(addr), "deploy/Dockerfile: ENV %s=%s must listen on 0.0.0.0", name, addr)
		p, err := portOf(addr)
		require.NoError(t, err)
		wantPorts = append(wantPorts, p)
	}
	sort.Ints(expose)
	sort.Ints(wantPorts)
	assert.Equal(t, wantPorts, expose, "deploy/Dockerfile: EXPOSE must list the ports of PRAXIS_INGRESS_LISTEN and PRAXIS_ADMIN_LISTEN")

	require.Len(t, entry, 1, "deploy/Dockerfile: ENTRYPOINT must be the binary alone, the subcommand comes from CMD/args")
	assert.Equal(t, copied[out[1]], entry[0], "deploy/Dockerfile: ENTRYPOINT must be where the built binary (%s) is copied", out[1])
	require.NotEmpty(t, cmd, "deploy/Dockerfile: CMD names a default subcommand")
	// `help` is not in the command table: Main answers it (usage, exit 0).
	assert.True(t, cmd[0] == "help" || cliCommands(t)[cmd[0]], "deploy/Dockerfile: CMD %q is not a subcommand", cmd[0])
}

// TestDockerignore: the build context keeps what the build needs and drops
// local state and secrets.
func TestDockerignore(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(repoRoot, ".dockerignore"))
	require.NoError(t, err, ".dockerignore at the repository root")
	var patterns []string
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, strings.TrimPrefix(line, "/"))
		}
	}
	ignored := func(p string) bool {
		hit := false
		for _, pat := range patterns {
			neg := strings.HasPrefix(pat, "!")
			pat = strings.TrimPrefix(pat, "!")
			m, _ := filepath.Match(pat, p)
			if m2, _ := filepath.Match(strings.TrimPrefix(pat, "**/"), filepath.Base(p)); strings.HasPrefix(pat, "**/") && m2 {
				m = true
			}
			if m {
				hit = !neg
			}
		}
		return hit
	}
	tests := []struct {
		path string
		want bool
	}{
		{"go.mod", false}, {"go.sum", false}, {"cmd", false}, {"adapter", false}, {"internal", false},
		{"ingress", false}, {"idempotency", false}, {"subjects", false},
		{".git", true}, {"data", true}, {"bin", true}, {".env", true},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			assert.Equal(t, tc.want, ignored(tc.path), ".dockerignore: %s ignored=%v, want %v", tc.path, ignored(tc.path), tc.want)
		})
	}
}

// ---------------------------------------------------------------------------
// Grafana

var (
	seriesRE  = regexp.MustCompile(`\b(praxis_[a-z0-9_]+)`)
	byRE      = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
	matcherRE = regexp.MustCompile(`\{([^{}]*)\}`)
	labelRE   = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	labelVals = regexp.MustCompile(`label_values\(\s*(\w+)\s*,\s*(\w+)\s*\)`)
)

// TestDashboard: every metric the dashboard queries exists in the code, the
// labels it groups and filters by exist on those metrics, and every panel
// uses the datasource variable.
func TestDashboard(t *testing.T) {
	const file = "grafana/praxis-adapter.json"
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	var dash map[string]any
	require.NoError(t, json.Unmarshal(raw, &dash), "%s", file)
	metrics := codeMetrics(t)
	require.NotEmpty(t, metrics, "found no Prometheus metrics in the code")

	var dsVar bool
	for _, v := range listOf(dig(dash, "templating", "list")) {
		if str(mapOf(v)["type"]) == "datasource" && str(mapOf(v)["query"]) == "prometheus" {
			dsVar = dsVar || str(mapOf(v)["name"]) == "datasource"
		}
		if q := str(dig(v, "query", "query")) + str(mapOf(v)["definition"]); q != "" {
			for _, m := range labelVals.FindAllStringSubmatch(q, -1) {
				d, ok := seriesOf(m[1], metrics)
				assert.True(t, ok, "%s: templating variable %s queries %s, which the code does not define", file, str(mapOf(v)["name"]), m[1])
				if ok && d.LabelsKnown {
					assert.True(t, d.Labels[m[2]], "%s: templating variable %s: %s has no label %s", file, str(mapOf(v)["name"]), m[1], m[2])
				}
			}
		}
	}
	assert.True(t, dsVar, "%s: templating.list needs a datasource variable named datasource (type datasource, query prometheus)", file)

	type target struct{ panel, expr string }
	var targets []target
	ids := map[int]string{}
	for _, p := range listOf(dash["panels"]) {
		pm := mapOf(p)
		title := str(pm["title"])
		id, _ := num(pm["id"])
		if other, dup := ids[id]; dup {
			assert.Failf(t, "duplicate panel id", "%s: panels %q and %q share id %d", file, other, title, id)
		}
		ids[id] = title
		if str(pm["type"]) == "row" {
			continue
		}
		assert.Equal(t, "${datasource}", str(dig(pm, "datasource", "uid")), "%s: panel %q: datasource.uid must be ${datasource}", file, title)
		require.NotEmpty(t, listOf(pm["targets"]), "%s: panel %q has no targets", file, title)
		for _, tg := range listOf(pm["targets"]) {
			assert.Equal(t, "${datasource}", str(dig(tg, "datasource", "uid")), "%s: panel %q target %s: datasource.uid must be ${datasource}", file, title, str(mapOf(tg)["refId"]))
			targets = append(targets, target{title, str(mapOf(tg)["expr"])})
		}
	}
	require.NotEmpty(t, targets, "%s: no queries", file)

	used := map[string]bool{}
	for _, tg := range targets {
		t.Run(tg.panel, func(t *testing.T) {
			if natsSeriesRE.MatchString(tg.expr) {
				// NATS exporter series (consumer lag, stream depth): see chart_test.go.
				checkPromQL(t, file+": panel "+tg.panel, tg.expr, metrics, false)
				return
			}
			names := seriesRE.FindAllString(tg.expr, -1)
			require.NotEmpty(t, names, "%s: panel %q queries no praxis_* metric: %s", file, tg.panel, tg.expr)
			allowed := map[string]bool{"instance": true, "job": true, "pod": true, "namespace": true}
			known := true
			for _, n := range names {
				d, ok := seriesOf(n, metrics)
				assert.True(t, ok, "%s: panel %q: metric %s is not defined in the code (ingress/metrics.go, adapter/worker/metrics.go, ...)", file, tg.panel, n)
				if !ok {
					continue
				}
				used[d.Name] = true
				known = known && d.LabelsKnown
				for l := range d.Labels {
					allowed[l] = true
				}
				if d.Kind == "histogram" {
					allowed["le"] = true
				}
			}
			if !known {
				return
			}
			var labels []string
			for _, m := range byRE.FindAllStringSubmatch(tg.expr, -1) {
				for _, l := range strings.Split(m[1], ",") {
					labels = append(labels, strings.TrimSpace(l))
				}
			}
			for _, m := range matcherRE.FindAllStringSubmatch(tg.expr, -1) {
				for _, part := range strings.Split(m[1], ",") {
					if lm := labelRE.FindStringSubmatch(part); lm != nil {
						labels = append(labels, lm[1])
					}
				}
			}
			for _, l := range labels {
				assert.True(t, allowed[l], "%s: panel %q: label %q is not a label of %v: %s", file, tg.panel, l, names, tg.expr)
			}
		})
	}
	var missing []string
	for name, d := range metrics {
		if !used[name] && strings.HasPrefix(name, "praxis_") {
			missing = append(missing, fmt.Sprintf("%s (%s)", name, d.File))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Logf("%s: metrics without a panel yet: %s", file, strings.Join(missing, ", "))
	}
}
