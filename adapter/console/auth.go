package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// cookieName carries a signed operator session (HttpOnly, SameSite=Strict).
const cookieName = "praxis_console"

// sessionTTL bounds a login.
const sessionTTL = 12 * time.Hour

// operator is who is acting: a name typed at login (or the
// X-Praxis-Operator header with a bearer token), and the session cookie's
// value from which the CSRF token derives.
type operator struct {
	Name    string
	session string
	bearer  bool
}

// auth checks requests against the operator token. With no token, nobody
// is an operator: the console is read-only.
type auth struct {
	token []byte
	now   func() time.Time
	// limit is nil in tests that do not exercise it.
	limit *failLimiter
}

// enabled reports whether an operator token is configured.
func (a auth) enabled() bool { return len(a.token) > 0 }

// tokenOK compares a presented token in constant time (over fixed-length
// digests, so neither content nor length leaks).
func (a auth) tokenOK(presented string) bool {
	if !a.enabled() || presented == "" {
		return false
	}
	x, y := sha256.Sum256([]byte(presented)), sha256.Sum256(a.token)
	return subtle.ConstantTimeCompare(x[:], y[:]) == 1
}

func (a auth) mac(parts ...string) string {
	h := hmac.New(sha256.New, a.token)
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// limited reports whether too many attempts failed recently.
func (a auth) limited() bool { return a.limit != nil && a.limit.blocked(a.now()) }

// failed records a failed attempt.
func (a auth) failed() {
	if a.limit != nil {
		a.limit.fail(a.now())
	}
}

// newSession is the cookie value for name: name, expiry, and a MAC over
// both keyed with the operator token (changing the token logs everyone out).
func (a auth) newSession(name string) string {
	exp := strconv.FormatInt(a.now().Add(sessionTTL).Unix(), 10)
	n := base64.RawURLEncoding.EncodeToString([]byte(name))
	return n + "." + exp + "." + a.mac("session", n, exp)
}

// who returns the operator making the request, if any.
func (a auth) who(r *http.Request) (operator, bool) {
	if !a.enabled() {
		return operator{}, false
	}
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if a.limited() || !ok || !a.tokenOK(tok) {
			a.failed()
			return operator{}, false
		}
		name := cleanName(r.Header.Get("X-Praxis-Operator"))
		if name == "" {
			name = "api"
		}
		return operator{Name: name, bearer: true}, true
	}
	c, err := r.Cookie(cookieName)
	if err != nil {
		return operator{}, false
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 3 {
		return operator{}, false
	}
	if subtle.ConstantTimeCompare([]byte(a.mac("session", parts[0], parts[1])), []byte(parts[2])) != 1 {
		return operator{}, false
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || a.now().Unix() > exp {
		return operator{}, false
	}
	name, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return operator{}, false
	}
	return operator{Name: string(name), session: c.Value}, true
}

// csrf is the token a form of this session must send back.
func (a auth) csrf(op operator) string {
	if op.session == "" {
		return ""
	}
	return a.mac("csrf", op.session)
}

// postOK guards a state-changing request: a bearer request carries no
// ambient credential; a cookie session must echo its CSRF token and, when
// the browser says, come from this site.
func (a auth) postOK(r *http.Request, op operator) bool {
	if op.bearer {
		return true
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	want := a.csrf(op)
	got := r.PostFormValue("csrf")
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// cleanName keeps an operator name printable and short.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, strings.TrimSpace(s))
	if len([]rune(s)) > 64 {
		s = string([]rune(s)[:64])
	}
	return s
}

// failLimiter slows token guessing: after maxFails failed logins or
// bearer tokens within failWindow, every further attempt is refused until
// the window has passed (per process; the token should be long anyway).
type failLimiter struct {
	mu    sync.Mutex
	fails []time.Time
}

const (
	maxFails   = 10
	failWindow = time.Minute
)

// blocked reports whether attempts are refused now.
func (l *failLimiter) blocked(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	return len(l.fails) >= maxFails
}

// fail records a failed attempt.
func (l *failLimiter) fail(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.prune(now)
	l.fails = append(l.fails, now)
}

func (l *failLimiter) prune(now time.Time) {
	i := 0
	for i < len(l.fails) && now.Sub(l.fails[i]) > failWindow {
		i++
	}
	l.fails = l.fails[i:]
}
