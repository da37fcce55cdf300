package rebilly

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Rebilly signs nothing: webhooks authenticate with an HTTP Basic or Digest
// credential bound to the receiving host (API.md §7), and notificationUrl
// calls with nothing at all (§6: an untrusted trigger). These verifiers are
// for the receiving side (the ingress); every comparison is constant-time.

// ErrUnauthorized is what every failed check matches; messages never carry
// the credential or the header.
var ErrUnauthorized = errors.New("rebilly webhook credential does not verify")

// equal compares two secrets in constant time, whatever their lengths.
func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// BasicAuth verifies a webhook's Basic credential.
type BasicAuth struct {
	Username string
	Password string
}

// Verify checks r's Authorization header.
func (a BasicAuth) Verify(r *http.Request) error {
	u, p, ok := r.BasicAuth()
	userOK, passOK := equal(u, a.Username), equal(p, a.Password)
	if !ok || !userOK || !passOK || a.Username == "" {
		return ErrUnauthorized
	}
	return nil
}

// DigestAuth verifies a webhook's Digest credential (RFC 7616, qop=auth).
// Nonces are stateless: a timestamp and its HMAC under Key, valid for TTL,
// so any replica can check any nonce; a response can be replayed within
// TTL (no nonce-count store), which is no weaker than Basic.
type DigestAuth struct {
	Username string
	Password string
	Realm    string
	// Key signs nonces; at least 16 bytes.
	Key []byte
	// Algorithm is MD5 (default; what Rebilly's Digest uses is UNCONFIRMED)
	// or SHA-256.
	Algorithm string
	// TTL bounds a nonce's age; default 5 minutes.
	TTL time.Duration
}

func (a DigestAuth) hash() func() hash.Hash {
	if strings.EqualFold(a.Algorithm, "SHA-256") {
		return sha256.New
	}
	return md5.New
}

func (a DigestAuth) algorithm() string {
	if strings.EqualFold(a.Algorithm, "SHA-256") {
		return "SHA-256"
	}
	return "MD5"
}

func (a DigestAuth) ttl() time.Duration {
	if a.TTL <= 0 {
		return 5 * time.Minute
	}
	return a.TTL
}

func (a DigestAuth) nonceAt(ts int64) string {
	m := hmac.New(sha256.New, a.Key)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	return strconv.FormatInt(ts, 10) + "." + hex.EncodeToString(m.Sum(nil)[:16])
}

// Challenge is the WWW-Authenticate value of a 401 that asks for the
// credential.
func (a DigestAuth) Challenge(now time.Time) string {
	return fmt.Sprintf(`Digest realm=%q, qop="auth", algorithm=%s, nonce=%q`, a.Realm, a.algorithm(), a.nonceAt(now.Unix()))
}

// Verify checks r's Digest Authorization header at now.
func (a DigestAuth) Verify(r *http.Request, now time.Time) error {
	scheme, params, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Digest") || len(a.Key) < 16 || a.Username == "" {
		return ErrUnauthorized
	}
	p, dup := parseAuthParams(params)
	if dup {
		return fmt.Errorf("%w: a parameter appears twice", ErrUnauthorized)
	}
	nonce := p["nonce"]
	tsText, _, _ := strings.Cut(nonce, ".")
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || !hmac.Equal([]byte(nonce), []byte(a.nonceAt(ts))) {
		return ErrUnauthorized
	}
	if age := now.Sub(time.Unix(ts, 0)); age < -time.Minute || age > a.ttl() {
		return fmt.Errorf("%w: stale nonce", ErrUnauthorized)
	}
	if p["qop"] != "auth" || p["uri"] != r.URL.RequestURI() || p["realm"] != a.Realm {
		return ErrUnauthorized
	}
	h := a.hash()
	sum := func(s string) string {
		x := h()
		x.Write([]byte(s))
		return hex.EncodeToString(x.Sum(nil))
	}
	ha1 := sum(a.Username + ":" + a.Realm + ":" + a.Password)
	ha2 := sum(r.Method + ":" + p["uri"])
	want := sum(ha1 + ":" + nonce + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + ha2)
	userOK, respOK := equal(p["username"], a.Username), equal(p["response"], want)
	if !userOK || !respOK {
		return ErrUnauthorized
	}
	return nil
}

// ParseAuthParams reads the comma-separated k=v and k="v" parameters of an
// Authorization or WWW-Authenticate value (RFC 9110 §11.2). Names are
// lower-cased; a malformed tail is ignored; of a repeated name the last
// value wins (Verify refuses repeats).
func ParseAuthParams(s string) map[string]string {
	out, _ := parseAuthParams(s)
	return out
}

func parseAuthParams(s string) (out map[string]string, dup bool) {
	out = map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return out, dup
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return out, dup
		}
		name := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return out, dup
			}
			val, s = b.String(), s[i+1:]
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			val, s = strings.TrimSpace(s[:end]), s[end:]
		}
		if _, seen := out[name]; seen {
			dup = true
		}
		out[name] = val
	}
}
