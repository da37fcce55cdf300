package processor

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMapper(t *testing.T) {
	m, err := New(
		[2]string{"WireCard<1-99>", "WireCard"},
		[2]string{"TestCardProcessor", "CreditCard"},
		[2]string{"Skrill*", "Skrill"},
	)
	require.NoError(t, err)
	tests := map[string]string{
		"WireCard8":         "WireCard",
		"WireCard99":        "WireCard",
		"WireCard100":       "WireCard100", // outside the range: unmapped
		"WireCard":          "WireCard",    // no number: unmapped, same text
		"WireCard08":        "WireCard08",  // leading zero is not a number here
		"TestCardProcessor": "CreditCard",
		"SkrillEU":          "Skrill",
		"NETeller":          "NETeller",
		"":                  "",
	}
	for in, want := range tests {
		assert.Equal(t, want, m.Name(in), in)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, match := range []string{"", "A<1-", "A<x-9>", "A<9-1>", "A<1-2>B<3-4>"} {
		_, err := Compile(match, "X")
		assert.Error(t, err, match)
	}
	_, err := Compile("A", "")
	assert.Error(t, err)
}
