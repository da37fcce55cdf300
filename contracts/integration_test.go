package contracts

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/praxis-adapter/praxis-adapter/subjects"
)

// TestIntegrationKitNamesExist keeps docs/integration.md and the Node
// example CRM in step with the code: every stream and subject family they
// name is one the adapter really has.
func TestIntegrationKitNamesExist(t *testing.T) {
	streams := map[string]bool{subjects.StreamEvents: true, subjects.StreamCommands: true, subjects.StreamResults: true,
		subjects.StreamDLQ: true, subjects.StreamLedger: true}
	families := regexp.MustCompile(`^` + regexp.QuoteMeta(subjects.Root) + `\.(events|commands|results|dlq|ledger|requests)\.`)
	for _, file := range []string{"../docs/integration.md", "../examples/node-crm/crm.js", "../examples/node-crm/README.md"} {
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			require.NoError(t, err)
			names := regexp.MustCompile(`PRAXIS_[A-Z_]+`).FindAllString(string(raw), -1)
			require.NotEmpty(t, names, "%s names the streams", file)
			for _, n := range names {
				assert.True(t, streams[n], "%s names stream %s, which the adapter does not create", file, n)
			}
			for _, s := range regexp.MustCompile("praxis\\.[a-z_]+\\.[^\\s`'\"|)]*").FindAllString(string(raw), -1) {
				assert.Regexp(t, families, s, "%s names subject %s outside the adapter's families", file, s)
			}
		})
	}
}

// TestREADMESubjectTable: the README's "Subjects and streams" table lists
// every subject family of subjects.Table(), so a newcomer sees every
// provider's subjects.
func TestREADMESubjectTable(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	for _, e := range subjects.Table() {
		assert.Contains(t, string(raw), "| `"+e.Pattern+"` |", "README.md: the subjects table needs a row for %s (stream %s)", e.Pattern, e.Stream)
	}
}
