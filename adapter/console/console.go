// Package console is the operator console: a small server-rendered web UI
// (html/template, a little embedded CSS and JavaScript, no build step) for
// the people who run the adapter. It shows stream and consumer health with
// lag, lists dead letters with reason filters and replays them (one or a
// selection, through deadletter.Replay, so the worker reconciles before
// any new call), and tells one transaction's story: every event, command,
// result, ledger instruction, dead letter and audit record carrying a tid,
// order id, cid or command id, in time order, linked by those keys.
//
// Access: read-only for anyone who reaches it, showing key fields only.
// With an operator token configured, an operator who logs in (or sends
// the token as a bearer token) may act and may see message bodies, which
// can hold customer data; secrets are masked even then. Every action is
// audited to praxis.audit.<app>.console before it is carried out.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// Prefix is where the console is mounted.
const Prefix = "/console/"

//go:embed templates/*.html static/*
var assets embed.FS

// Config configures the console.
type Config struct {
	// Token is the operator token; empty: read-only.
	Token string
	// Index bounds the timeline's index.
	Index IndexConfig
	// AuditMaxAge and Replicas size the audit stream; Memory for tests.
	AuditMaxAge time.Duration
	Replicas    int
	Memory      bool
	// HeldStream and HeldSubject list records awaiting an operator
	// (held ledger movements); empty: not configured.
	HeldStream, HeldSubject string
}

// ResolveRequest asks to resolve one held record.
type ResolveRequest struct {
	Stream   string
	Seq      uint64
	Decision string // book or dismiss (the ledger's review actions)
	Who, Why string
}

// Deps are the console's collaborators.
type Deps struct {
	NC  *nats.Conn
	JS  jetstream.JetStream
	Log zerolog.Logger
	// Resolve carries out an operator's decision on a held record. nil:
	// the held view lists records but offers no action.
	// The runtime wires it to ledger.DecideHeld.
	Resolve func(ctx context.Context, req ResolveRequest) error
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// Console serves the operator pages and runs the timeline's indexer.
type Console struct {
	cfg   Config
	deps  Deps
	auth  auth
	index *Index
	pages map[string]*template.Template
}

// New creates the audit stream and the index bucket, and parses the pages.
func New(ctx context.Context, cfg Config, deps Deps) (*Console, error) {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if err := subjects.EnsureAuditStream(ctx, deps.JS, subjects.AuditStream(cfg.Replicas, cfg.AuditMaxAge, cfg.Memory)); err != nil {
		return nil, err
	}
	cfg.Index.Replicas, cfg.Index.Memory = cfg.Replicas, cfg.Memory
	ix, err := NewIndex(ctx, deps.NC, deps.JS, cfg.Index, deps.Log.With().Str("component", "console").Logger())
	if err != nil {
		return nil, err
	}
	c := &Console{cfg: cfg, deps: deps, auth: auth{token: []byte(cfg.Token), now: deps.Now, limit: &failLimiter{}}, index: ix}
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	return c, nil
}

// Index is the timeline's index.
func (c *Console) Index() *Index { return c.index }

// Run indexes messages until ctx ends.
func (c *Console) Run(ctx context.Context) error { return c.index.Run(ctx) }

// Start begins indexing and returns once the subscriptions are in place;
// stop ends it.
func (c *Console) Start(ctx context.Context) (stop func(), err error) { return c.index.Start(ctx) }

// Mount registers the console's routes under Prefix on mux.
func (c *Console) Mount(mux *http.ServeMux) {
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET "+Prefix+"static/", http.StripPrefix(Prefix+"static/", http.FileServerFS(static)))
	mux.Handle("GET "+strings.TrimSuffix(Prefix, "/"), http.RedirectHandler(Prefix, http.StatusMovedPermanently))
	mux.HandleFunc("GET "+Prefix+"{$}", c.timeline)
	mux.HandleFunc("GET "+Prefix+"timeline", c.timeline)
	mux.HandleFunc("GET "+Prefix+"streams", c.streams)
	mux.HandleFunc("GET "+Prefix+"dlq", c.dlqList)
	mux.HandleFunc("GET "+Prefix+"dlq/{seq}", c.dlqShow)
	mux.HandleFunc("POST "+Prefix+"dlq/replay", c.dlqReplay)
	mux.HandleFunc("GET "+Prefix+"msg/{stream}/{seq}", c.message)
	mux.HandleFunc("GET "+Prefix+"held", c.held)
	mux.HandleFunc("POST "+Prefix+"held/resolve", c.heldResolve)
	mux.HandleFunc("GET "+Prefix+"login", c.loginPage)
	mux.HandleFunc("POST "+Prefix+"login", c.login)
	mux.HandleFunc("POST "+Prefix+"logout", c.logout)
}

// Handler is the console alone, for tests and for mounting elsewhere.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	c.Mount(mux)
	return mux
}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"ts": func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.UTC().Format("2006-01-02 15:04:05.000")
		},
		"lower":  strings.ToLower,
		"prefix": func() string { return Prefix },
		"cls":    func(s string) string { return strings.ReplaceAll(s, " ", "-") },
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(assets, n)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// page is what every template gets.
type page struct {
	Title    string
	Nav      string
	Operator string
	CanAct   bool
	TokenSet bool
	CSRF     string
	Flash    string
	Error    string
	Data     any
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name, nav, title string, data any, flash, errMsg string) {
	op, ok := c.auth.who(r)
	p := page{Title: title, Nav: nav, TokenSet: c.auth.enabled(), CanAct: ok, Flash: flash, Error: errMsg, Data: data}
	if ok {
		p.Operator, p.CSRF = op.Name, c.auth.csrf(op)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	if err := c.pages[name].ExecuteTemplate(w, "layout.html", p); err != nil {
		c.deps.Log.Warn().Err(err).Str("page", name).Msg("console: render failed")
	}
}

func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, nav string, err error) {
	c.render(w, r, status, "error", nav, "Error", nil, "", err.Error())
}

// auditRecord is published on praxis.audit.<app>.console for every action.
type auditRecord struct {
	Time      time.Time `json:"time"`
	Who       string    `json:"who"`
	Action    string    `json:"action"`
	Why       string    `json:"why"`
	Outcome   string    `json:"outcome"` // requested, done, failed
	Stream    string    `json:"stream,omitempty"`
	Seq       uint64    `json:"seq,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	CommandID string    `json:"command_id,omitempty"`
	Detail    string    `json:"detail,omitempty"`
}

// audit publishes rec and waits for the PubAck: an action whose audit
// record cannot be stored is not carried out.
func (c *Console) audit(ctx context.Context, app string, rec auditRecord) error {
	rec.Time = c.deps.Now().UTC()
	raw, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.deps.JS.Publish(actx, subjects.Audit(app, subjects.AuditConsole), raw, jetstream.WithExpectStream(subjects.StreamAudit)); err != nil {
		return fmt.Errorf("audit record not stored, action not taken: %w", err)
	}
	return nil
}

var errNotOperator = errors.New("log in as an operator first (an operator token must be configured)")
