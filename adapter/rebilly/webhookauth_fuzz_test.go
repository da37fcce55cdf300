package rebilly

import (
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzDigestVerify: whatever Authorization header arrives, Verify never
// panics, and it accepts one only if it carries the response computed from
// the password: a header built without it is always refused.
func FuzzDigestVerify(f *testing.F) {
	a := DigestAuth{Username: "rebilly", Password: "pw", Realm: "hooks", Key: []byte("0123456789abcdef0123456789abcdef")}
	now := time.Unix(1_800_000_000, 0)
	nonce := a.nonceAt(now.Unix())
	f.Add(`Digest username="rebilly", realm="hooks", nonce="` + nonce + `", uri="/rebilly/shop/webhook", qop=auth, nc=00000001, cnonce="abc", response="00"`)
	f.Add(`Digest username="rebilly", username="x", realm="hooks"`)
	f.Add(`Digest realm="hooks", nonce="1.00", qop="auth"`)
	f.Add(`Basic cmViaWxseTpwdw==`)
	f.Add(`Digest `)
	f.Add(`Digest a="\"`)
	f.Add("Digest nonce=\"" + nonce + "\", response=\"\x00\"")
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("POST", "/rebilly/shop/webhook", nil)
		r.Header.Set("Authorization", header)
		if err := a.Verify(r, now); err == nil {
			// Accepted: the header must then hold the right response for
			// its own parameters, which only the password yields.
			p, _ := parseAuthParams(header[len("Digest "):])
			other := a
			other.Password = "not-the-password"
			if other.Verify(r, now) == nil {
				t.Fatalf("accepted a header that does not depend on the password: %q (params %v)", header, p)
			}
		}
		_ = ParseAuthParams(header)
	})
}
