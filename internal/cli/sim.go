package cli

import (
	"context"
	"errors"
)

func runSim(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "sim", "[flags]")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return errors.New("the simulator is not built yet")
}
