package simkittest

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestCalls(t *testing.T) {
	var cs Calls[int]
	assert.Empty(t, cs.All())
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { cs.Add(i) })
	}
	got := cs.Wait(t, 10, 5*time.Second, time.Millisecond)
	wg.Wait()
	assert.ElementsMatch(t, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, got)
	assert.Equal(t, 10, cs.Add(10), "Add counts the calls before")
	all := cs.All()
	all[0] = 99
	assert.NotEqual(t, 99, cs.All()[0], "All returns a copy")
}
