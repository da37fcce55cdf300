// Package redact removes credentials from URLs before they reach an error
// or a log line: NATS, Redis and Praxis addresses are configured as URLs,
// and a URL may carry a user, a password or a token in its query.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Placeholder replaces what was removed.
const Placeholder = "REDACTED"

// secretParam matches query parameter names that usually carry a secret.
var secretParam = regexp.MustCompile(`(?i)(pass|pwd|secret|token|key|auth|cred|sig|session|private)`)

// URL returns raw with its userinfo replaced by REDACTED and the values of
// secret-looking query parameters replaced too. Something that does not
// parse as a URL is reduced to what can be shown safely: its scheme, or
// nothing at all, never the raw text.
func URL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme == "" && u.Host == "") {
		return unparsable(raw)
	}
	if u.User != nil {
		u.User = url.User(Placeholder)
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			u.RawQuery = Placeholder
		} else {
			for k := range q {
				if secretParam.MatchString(k) {
					q[k] = []string{Placeholder}
				}
			}
			u.RawQuery = q.Encode()
		}
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// unparsable shows only the scheme of a URL that does not parse (its
// password may be exactly what broke it).
func unparsable(raw string) string {
	if i := strings.Index(raw, "://"); i > 0 && !strings.ContainsAny(raw[:i], "@:/?#") {
		return raw[:i] + "://" + Placeholder
	}
	return Placeholder
}

// URLs redacts a comma-separated list of URLs (NATS accepts one).
func URLs(raw string) string {
	parts := strings.Split(raw, ",")
	for i, p := range parts {
		parts[i] = URL(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

// Error returns err's text with every occurrence of each raw URL (and of
// its userinfo and password, which some libraries quote on their own)
// replaced by the redacted form, wrapped so errors.Is still sees err.
func Error(err error, raws ...string) error {
	if err == nil {
		return nil
	}
	msg := String(err.Error(), raws...)
	if msg == err.Error() {
		return err
	}
	return &redacted{msg: msg, err: err}
}

// String is Error for text: every raw URL in s, its userinfo and its
// password are replaced.
func String(s string, raws ...string) string {
	for _, raw := range raws {
		for _, one := range strings.Split(raw, ",") {
			one = strings.TrimSpace(one)
			if one == "" {
				continue
			}
			s = strings.ReplaceAll(s, one, URL(one))
			for _, secret := range secretsOf(one) {
				s = strings.ReplaceAll(s, secret, Placeholder)
			}
		}
	}
	return s
}

// secretsOf lists the secret parts of a raw URL, parsed or not: the
// userinfo, the password, and secret-looking query values.
func secretsOf(raw string) []string {
	var out []string
	rest := raw
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		auth := rest[:at]
		if j := strings.IndexAny(auth, "/?#"); j < 0 {
			out = append(out, auth)
			if _, pw, ok := strings.Cut(auth, ":"); ok && pw != "" {
				out = append(out, pw)
			}
		}
	}
	if u, err := url.Parse(raw); err == nil {
		for k, vs := range u.Query() {
			if secretParam.MatchString(k) {
				for _, v := range vs {
					if v != "" {
						out = append(out, v)
					}
				}
			}
		}
	}
	// Longest first, so a password is not left half-replaced.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	var keep []string
	for _, s := range out {
		if len(s) >= 3 { // a one-letter user name would blank half the message
			keep = append(keep, s)
		}
	}
	return keep
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.err }
