package praxis

import (
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
)

// HeaderSignature carries the SHA-384 signature on every request, response,
// webhook and webhook reply (SIGNATURE.md §1). Header names are
// case-insensitive; this is the documented spelling.
const HeaderSignature = "GT-Authentication"

// SignatureLen is the length of a lowercase hex SHA-384 digest.
const SignatureLen = sha512.Size384 * 2

// Signature verification errors; callers answer Praxis differently for each.
var (
	// ErrSignatureMissing means no signature header was sent.
	ErrSignatureMissing = errors.New("signature header is missing")
	// ErrSignatureMismatch means the signature does not match any secret.
	ErrSignatureMismatch = errors.New("signature does not match")
)

// Signature is a lowercase hex SHA-384 digest, kept in an array so signing
// does not allocate.
type Signature [SignatureLen]byte

// String returns the hex digest, ready for the GT-Authentication header.
func (s Signature) String() string { return string(s[:]) }

// FieldList is a named, ordered list of the dot paths a message's signature
// covers (SIGNATURE.md §4). It is immutable and safe for concurrent use.
type FieldList struct {
	name  ListName
	paths *Paths
}

// NewFieldList compiles a field list; an empty list signs only the secret.
func NewFieldList(name ListName, fields ...string) FieldList {
	return FieldList{name: name, paths: CompilePaths(fields...)}
}

// Name is the list's name, as used in config overrides and error messages.
func (l FieldList) Name() ListName { return l.name }

// Fields returns the dot paths in signing order.
func (l FieldList) Fields() []string {
	if l.paths == nil {
		return nil
	}
	return l.paths.Names()
}

// Paths exposes the compiled paths so a caller can extract them together
// with other fields in one pass (see AppendSigningText).
func (l FieldList) Paths() *Paths { return l.paths }

// Sign computes the signature of body under secret. body must be the exact
// bytes sent or received: numbers are hashed from their token text.
func (l FieldList) Sign(body []byte, secret string) (Signature, error) {
	var buf [512]byte
	text, err := l.SigningText(buf[:0], body)
	if err != nil {
		return Signature{}, err
	}
	return Digest(text, secret), nil
}

// SigningText appends the concatenated values (before the secret) of body's
// signed fields; support tools show it to explain a mismatch.
func (l FieldList) SigningText(dst, body []byte) ([]byte, error) {
	var vals [16]Value
	out := vals[:]
	if l.paths.Len() > len(vals) {
		out = make([]Value, l.paths.Len())
	}
	if err := l.paths.Extract(body, out); err != nil {
		return dst, fmt.Errorf("sign %s: %w", l.name, err)
	}
	return AppendSigningText(dst, out[:l.paths.Len()], l.paths.names)
}

// Verify checks header against body's signature under each of secrets (two
// during a rotation). The header is lower-cased and compared in constant time.
func (l FieldList) Verify(body []byte, header string, secrets ...string) error {
	var buf [512]byte
	text, err := l.SigningText(buf[:0], body)
	if err != nil {
		return err
	}
	return VerifyText(text, header, secrets...)
}

// AppendSigningText appends the signing text of already extracted values;
// names is used only in error messages.
func AppendSigningText(dst []byte, vals []Value, names []string) ([]byte, error) {
	for i, v := range vals {
		var err error
		if dst, err = v.AppendText(dst); err != nil {
			name := ""
			if i < len(names) {
				name = names[i]
			}
			return dst, fmt.Errorf("field %s: %w", name, err)
		}
	}
	return dst, nil
}

// Digest hashes text with the secret appended: SHA-384, lowercase hex. It is
// a plain hash, not an HMAC, exactly as Praxis specifies.
func Digest(text []byte, secret string) Signature {
	var stack [1024]byte
	buf := append(append(stack[:0], text...), secret...)
	sum := sha512.Sum384(buf)
	var sig Signature
	hex.Encode(sig[:], sum[:])
	return sig
}

// VerifyText compares header with the digest of text under each secret.
func VerifyText(text []byte, header string, secrets ...string) error {
	_, err := MatchSecret(text, header, secrets...)
	return err
}

// MatchSecret is VerifyText that also says which secret matched, so a reply
// can be signed with the secret the peer used (during a rotation Praxis may
// still sign with the previous one). Every secret is tried, in constant time.
func MatchSecret(text []byte, header string, secrets ...string) (int, error) {
	if header == "" {
		return -1, ErrSignatureMissing
	}
	if len(header) != SignatureLen {
		return -1, fmt.Errorf("%w: want %d hex characters, got %d", ErrSignatureMismatch, SignatureLen, len(header))
	}
	var got Signature
	for i := 0; i < SignatureLen; i++ {
		c := header[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		got[i] = c
	}
	matched := -1
	for i, secret := range secrets {
		want := Digest(text, secret)
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 && matched < 0 {
			matched = i
		}
	}
	if matched < 0 {
		return -1, ErrSignatureMismatch
	}
	return matched, nil
}
