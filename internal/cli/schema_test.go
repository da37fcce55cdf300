package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/contracts"
)

func TestRunSchema(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantUsage bool
		check     func(t *testing.T, out string)
	}{
		{"list", nil, false, func(t *testing.T, out string) {
			assert.Contains(t, out, "asyncapi ")
			for _, n := range contracts.SchemaNames() {
				assert.Contains(t, out, n+" ", "the list names every schema")
			}
			assert.Contains(t, out, "cashier.session command", "the list shows titles")
		}},
		{"one schema", []string{"command.cashier.session"}, false, func(t *testing.T, out string) {
			var v map[string]any
			require.NoError(t, json.Unmarshal([]byte(out), &v), "prints the JSON Schema")
			assert.Equal(t, "cashier.session command", v["title"])
		}},
		{"a Rebilly schema", []string{"rebilly.command.cashier.create.json"}, false, func(t *testing.T, out string) {
			var v map[string]any
			require.NoError(t, json.Unmarshal([]byte(out), &v), "prints the JSON Schema")
			assert.Equal(t, "cashier.create command (Rebilly)", v["title"])
		}},
		{"asyncapi", []string{"asyncapi"}, false, func(t *testing.T, out string) {
			assert.True(t, strings.HasPrefix(out, "asyncapi: 3.0.0"), "prints the AsyncAPI document")
		}},
		{"unknown", []string{"command.cashier.sesion"}, true, nil},
		{"two names", []string{"defs", "cloudevent"}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := runSchema(context.Background(), &Env{Stdout: &stdout, Stderr: &stderr}, tt.args)
			if tt.wantUsage {
				require.Error(t, err)
				assert.True(t, errors.Is(err, errUsage), "a bad name is a usage error: %v", err)
				return
			}
			require.NoError(t, err)
			tt.check(t, stdout.String())
		})
	}
	t.Run("unknown name lists the known ones", func(t *testing.T) {
		err := runSchema(context.Background(), &Env{Stdout: &bytes.Buffer{}, Stderr: &bytes.Buffer{}}, []string{"nope"})
		require.Error(t, err)
		assert.True(t, errors.Is(err, contracts.ErrUnknownSchema))
		assert.Contains(t, err.Error(), "command.refund.create")
	})
}
