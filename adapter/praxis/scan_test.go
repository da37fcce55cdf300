package praxis

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExtract(t *testing.T) {
	paths := CompilePaths("a", "b.c", "b.d", "e", "f.g.h")
	tests := []struct {
		name  string
		body  string
		kinds []Kind
		texts []string // raw tokens
		err   error
	}{
		{"all kinds", `{"a":"x","b":{"c":12.50,"d":null},"e":[1,{"a":2}],"f":{"g":{"h":true}}}`,
			[]Kind{KindString, KindNumber, KindNull, KindArray, KindBool},
			[]string{`"x"`, `12.50`, `null`, `[1,{"a":2}]`, `true`}, nil},
		{"missing and null parent", `{"b":null,"f":{"g":1}}`,
			[]Kind{KindMissing, KindMissing, KindMissing, KindMissing, KindMissing}, []string{"", "", "", "", ""}, nil},
		{"a repeated key is refused", `{"b":{"c":1,"d":2},"b":{"c":3}}`, nil, nil, ErrAmbiguousKey},
		{"a repeated key is refused at any depth", `{"e":[{"x":1,"x":2}]}`, nil, nil, ErrAmbiguousKey},
		{"keys differing only in case are refused", `{"f":{"g":{"H":1,"h":2}}}`, nil, nil, ErrAmbiguousKey},
		{"keys equal under Unicode folding are refused", "{\"s\":1,\"\u017f\":2}", nil, nil, ErrAmbiguousKey},
		{"invalid UTF-8 in a string", "{\"z\":\"\xff\"}", nil, nil, ErrNotJSON},
		{"invalid UTF-8 in a key", "{\"\xc3\":1}", nil, nil, ErrNotJSON},
		{"lone high surrogate", `{"z":"\ud800"}`, nil, nil, ErrNotJSON},
		{"lone low surrogate", `{"z":"\udc00x"}`, nil, nil, ErrNotJSON},
		{"escaped key matches", `{"\u0061":"y"}`,
			[]Kind{KindString, KindMissing, KindMissing, KindMissing, KindMissing}, []string{`"y"`, "", "", "", ""}, nil},
		{"whitespace everywhere", " \n{ \"a\" :\t\"x\" ,\r\"e\" : { } } \n",
			[]Kind{KindString, KindMissing, KindMissing, KindObject, KindMissing}, []string{`"x"`, "", "", "{ }", ""}, nil},
		{"empty", ``, nil, nil, ErrNotJSON},
		{"array top level", `[]`, nil, nil, ErrNotObject},
		{"string top level", `"a"`, nil, nil, ErrNotObject},
		{"trailing garbage", `{"a":1}x`, nil, nil, ErrNotJSON},
		{"trailing comma", `{"a":1,}`, nil, nil, ErrNotJSON},
		{"leading zero", `{"a":01}`, nil, nil, ErrNotJSON},
		{"bare decimal point", `{"a":1.}`, nil, nil, ErrNotJSON},
		{"control char in string", "{\"a\":\"x\ny\"}", nil, nil, ErrNotJSON},
		{"bad escape", `{"a":"\x"}`, nil, nil, ErrNotJSON},
		{"unterminated", `{"a":"x`, nil, nil, ErrNotJSON},
		{"single quotes", `{'a':1}`, nil, nil, ErrNotJSON},
		{"too deep", `{"a":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`, nil, nil, ErrNotJSON},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := make([]Value, paths.Len())
			err := paths.Extract([]byte(tc.body), out)
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			for i := range out {
				assert.Equal(t, tc.kinds[i], out[i].Kind, "kind of %s", paths.names[i])
				assert.Equal(t, tc.texts[i], string(out[i].Raw), "raw of %s", paths.names[i])
			}
		})
	}
}

func TestValueText(t *testing.T) {
	tests := []struct {
		raw  string
		kind Kind
		want string
		err  bool
	}{
		{`"plain"`, KindString, "plain", false},
		{`"a\/b\"c\\"`, KindString, `a/b"c\`, false},
		{`"\ud83d\ude00"`, KindString, "😀", false},
		{`"клиент"`, KindString, "клиент", false},
		{`1.000000`, KindNumber, "1.000000", false},
		{`-1`, KindNumber, "-1", false},
		{`null`, KindNull, "", false},
		{`true`, KindBool, "", true},
		{`{}`, KindObject, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			got, err := Value{Kind: tc.kind, Raw: []byte(tc.raw)}.Text()
			if tc.err {
				assert.ErrorIs(t, err, ErrUnsignableValue)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestValueInt(t *testing.T) {
	tests := []struct {
		raw  string
		kind Kind
		want int64
		ok   bool
	}{
		{"0", KindNumber, 0, true},
		{"100", KindNumber, 100, true},
		{"-1", KindNumber, -1, true},
		{"999999999999999999", KindNumber, 999999999999999999, true},
		{"1.5", KindNumber, 0, false},
		{"1e3", KindNumber, 0, false},
		{"1234567890123456789", KindNumber, 0, false},
		{`"100"`, KindString, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			got, err := Value{Kind: tc.kind, Raw: []byte(tc.raw)}.Int()
			if !tc.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestExtractDoesNotAllocate(t *testing.T) {
	vs := loadVectors(t)
	body := []byte(vs[2].Body)
	paths := DefaultLists().Get(ListNotificationRequest).Paths()
	out := make([]Value, paths.Len())
	allocs := testing.AllocsPerRun(100, func() {
		if err := paths.Extract(body, out); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// referenceLookup walks a body decoded by encoding/json (UseNumber): the
// obviously-correct model the scanner is fuzzed against.
func referenceLookup(body []byte, path string) (v any, found bool, ok bool) {
	if !json.Valid(body) {
		return nil, false, false
	}
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var root any
	if err := d.Decode(&root); err != nil {
		return nil, false, false
	}
	cur := root
	for _, seg := range strings.Split(path, ".") {
		m, isObj := cur.(map[string]any)
		if !isObj {
			return nil, false, true
		}
		cur, found = m[seg]
		if !found {
			return nil, false, true
		}
	}
	return cur, true, true
}

func FuzzExtract(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add([]byte(v.Body))
	}
	f.Add([]byte(`{"transaction":{"tid":1,"amount":"\u0031"},"transaction":null}`))
	f.Add([]byte(`{"a":[{"b":1}],"customer":{"customer_token":"x\ud800"}}`))
	f.Add([]byte(`{"merchant_id":1e5,"timestamp":-0.0E+1}`))
	paths := DefaultLists().Get(ListNotificationRequest).Paths()
	f.Fuzz(func(t *testing.T, body []byte) {
		out := make([]Value, paths.Len())
		err := paths.Extract(body, out)
		_, _, valid := referenceLookup(body, "x")
		if err != nil {
			if !valid || strings.Contains(err.Error(), "nesting deeper") {
				return
			}
			if errors.Is(err, ErrAmbiguousKey) || strings.Contains(err.Error(), "surrogate") || !utf8.Valid(body) {
				return // refused on purpose: parsers could disagree (strict.go)
			}
			var top any
			_ = json.Unmarshal(body, &top)
			if _, isObj := top.(map[string]any); isObj {
				t.Fatalf("scanner rejected a valid object: %v", err)
			}
			if !errors.Is(err, ErrNotObject) {
				t.Fatalf("valid JSON that is not an object must give ErrNotObject, got %v", err)
			}
			return
		}
		if !valid {
			t.Fatalf("scanner accepted invalid JSON %q", body)
		}
		for i, name := range paths.names {
			ref, found, _ := referenceLookup(body, name)
			got := out[i]
			if !found {
				if got.Kind != KindMissing {
					t.Fatalf("%s: reference missing, scanner %v", name, got.Kind)
				}
				continue
			}
			switch r := ref.(type) {
			case nil:
				assertKind(t, name, got, KindNull)
			case string:
				assertKind(t, name, got, KindString)
				text, err := got.Text()
				if err != nil || text != r {
					t.Fatalf("%s: text %q (err %v), reference %q", name, text, err, r)
				}
			case json.Number:
				assertKind(t, name, got, KindNumber)
				if string(got.Raw) != r.String() {
					t.Fatalf("%s: number %q, reference %q", name, got.Raw, r)
				}
			case bool:
				assertKind(t, name, got, KindBool)
			case map[string]any:
				assertKind(t, name, got, KindObject)
			case []any:
				assertKind(t, name, got, KindArray)
			}
		}
	})
}

func assertKind(t *testing.T, name string, got Value, want Kind) {
	t.Helper()
	if got.Kind != want {
		t.Fatalf("%s: kind %v, reference %v", name, got.Kind, want)
	}
}

func TestFoldHashAgreesWithFoldKey(t *testing.T) {
	for _, k := range []string{"", "a", "tid", "TID", "transaction_status", "Transaction_Status_Longer_Than_16", "@[`{_~ az AZ", "a\x7fz"} {
		assert.Equal(t, foldHash(foldKey(nil, []byte(k)), false), foldHash([]byte(k), true), "%q", k)
	}
	assert.Equal(t, foldHash([]byte("TID"), true), foldHash([]byte("tid"), true))
	assert.NotEqual(t, foldHash([]byte("a["), true), foldHash([]byte("a{"), true))
	assert.NotEqual(t, foldHash([]byte("tid"), true), foldHash([]byte("tid\x00"), true))
}
