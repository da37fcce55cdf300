// Package processor maps Praxis' payment_processor and gateway names to the
// platform's own processor names (LEGACY_PLATFORM.md §3): merchants run
// numbered accounts of one provider (WireCard1 … WireCard99) that the
// platform books as one processor.
package processor

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Rule is one compiled mapping. Match is an exact name, or a pattern where
// `<1-99>` (any `<lo-hi>` range) stands for a decimal number in that range
// and `*` for any run of characters.
type Rule struct {
	match string
	name  string
	re    *regexp.Regexp
	lo    int
	hi    int
	num   bool
}

// Compile checks and compiles one rule.
func Compile(match, name string) (Rule, error) {
	if match == "" || name == "" {
		return Rule{}, fmt.Errorf("match and name are both required")
	}
	r := Rule{match: match, name: name}
	if !strings.ContainsAny(match, "<*") {
		return r, nil
	}
	var pat strings.Builder
	pat.WriteString("^")
	rest := match
	for rest != "" {
		i := strings.IndexAny(rest, "<*")
		if i < 0 {
			pat.WriteString(regexp.QuoteMeta(rest))
			break
		}
		pat.WriteString(regexp.QuoteMeta(rest[:i]))
		if rest[i] == '*' {
			pat.WriteString(".*")
			rest = rest[i+1:]
			continue
		}
		end := strings.IndexByte(rest[i:], '>')
		if end < 0 {
			return Rule{}, fmt.Errorf("match %q: '<' without '>'", match)
		}
		lo, hi, ok := strings.Cut(rest[i+1:i+end], "-")
		l, err1 := strconv.Atoi(lo)
		h, err2 := strconv.Atoi(hi)
		if !ok || err1 != nil || err2 != nil || l < 0 || h < l || r.num {
			return Rule{}, fmt.Errorf("match %q: want one numeric range like <1-99>", match)
		}
		r.lo, r.hi, r.num = l, h, true
		pat.WriteString(`(0|[1-9][0-9]*)`)
		rest = rest[i+end+1:]
	}
	pat.WriteString("$")
	re, err := regexp.Compile(pat.String())
	if err != nil {
		return Rule{}, fmt.Errorf("match %q: %w", match, err)
	}
	r.re = re
	return r, nil
}

func (r Rule) matches(s string) bool {
	if r.re == nil {
		return s == r.match
	}
	m := r.re.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	if r.num {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < r.lo || n > r.hi {
			return false
		}
	}
	return true
}

// Mapper applies rules in order; the first match wins. A Mapper is
// immutable and safe for concurrent use.
type Mapper struct {
	rules []Rule
}

// New compiles rules given as (match, name) pairs.
func New(pairs ...[2]string) (*Mapper, error) {
	m := &Mapper{}
	for i, p := range pairs {
		r, err := Compile(p[0], p[1])
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", i, err)
		}
		m.rules = append(m.rules, r)
	}
	return m, nil
}

// Name maps a Praxis processor name; an unmapped name is returned as is,
// so the platform still sees something it can investigate.
func (m *Mapper) Name(praxisName string) string {
	if m == nil || praxisName == "" {
		return praxisName
	}
	for _, r := range m.rules {
		if r.matches(praxisName) {
			return r.name
		}
	}
	return praxisName
}
