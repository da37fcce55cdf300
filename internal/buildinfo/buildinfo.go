// Package buildinfo says which build is running, so `--version`, the
// `praxis_build_info` metric and bug reports name the same thing.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// version is stamped at link time by `make build` and the Dockerfile
// (-ldflags "-X …/internal/buildinfo.version=v1.2.3"); it is the only way
// to give a binary a release name, so it is a package variable set once by
// the linker and never written at run time.
var version string

// Info is what is known about the running binary.
type Info struct {
	// Version is the stamped release (git describe), or the module version,
	// or "devel" for a build from a work tree without stamping.
	Version string
	// Revision is the VCS commit the binary was built from, if known.
	Revision string
	// Modified is true when the work tree had uncommitted changes.
	Modified bool
	// GoVersion is the Go toolchain that built it.
	GoVersion string
}

// Read returns the running binary's build information.
func Read() Info {
	info := Info{Version: version, GoVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
	}
	if info.Version == "" {
		info.Version = "devel"
		if info.Revision != "" {
			info.Version += "-" + shortRev(info.Revision)
			if info.Modified {
				info.Version += "-dirty"
			}
		}
	}
	return info
}

// String is the one-line form `praxis-adapter --version` prints.
func (i Info) String() string {
	var b strings.Builder
	b.WriteString("praxis-adapter ")
	b.WriteString(i.Version)
	if i.Revision != "" && !strings.Contains(i.Version, shortRev(i.Revision)) {
		b.WriteString(" (")
		b.WriteString(shortRev(i.Revision))
		if i.Modified {
			b.WriteString(", modified")
		}
		b.WriteString(")")
	}
	b.WriteString(" ")
	b.WriteString(i.GoVersion)
	return b.String()
}

func shortRev(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

// Register adds the constant gauge praxis_build_info{version,revision,goversion}
// = 1 to reg, the usual way to join any metric with the build that made it.
func Register(reg prometheus.Registerer) error {
	i := Read()
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "praxis_build_info",
		Help: "Always 1; its labels name the running build.",
		ConstLabels: prometheus.Labels{
			"version":   i.Version,
			"revision":  shortRev(i.Revision),
			"goversion": i.GoVersion,
		},
	})
	g.Set(1)
	return reg.Register(g)
}
