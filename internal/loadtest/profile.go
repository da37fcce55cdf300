package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// profile fetches a 3-second CPU profile and then a heap profile from the
// adapter's /debug/pprof while the load runs (the child runs with
// PRAXIS_PPROF=true).
func profile(ctx context.Context, base, dir, name string) chan error {
	done := make(chan error, 1)
	go func() {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			done <- err
			return
		}
		for _, p := range []struct{ path, file string }{
			{"/debug/pprof/profile?seconds=3", name + ".cpu.pprof"},
			{"/debug/pprof/heap", name + ".heap.pprof"},
		} {
			if err := fetch(ctx, base+p.path, filepath.Join(dir, p.file)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	return done
}

func fetch(ctx context.Context, url, file string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}
