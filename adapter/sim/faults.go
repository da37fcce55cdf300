package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"time"

	"github.com/praxis-adapter/praxis-adapter/adapter/praxis"
	"github.com/praxis-adapter/praxis-adapter/internal/simkit"
)

// AllEndpoints is the Faults.Endpoints key whose faults apply to every
// endpoint without an entry of its own.
const AllEndpoints = "*"

// EndpointFaults are the faults injected into one Praxis endpoint. The three
// rates are probabilities drawn once per call, so their sum is at most 1.
type EndpointFaults struct {
	// Latency delays every answer; Jitter adds a uniform random [0, Jitter).
	Latency time.Duration
	Jitter  time.Duration
	// NegativeRate answers status -1 without performing the call.
	NegativeRate float64
	// ServerErrorRate answers HTTP 503 without performing the call.
	ServerErrorRate float64
	// TimeoutRate performs the call, then closes the connection without an
	// answer (or, where it cannot, blocks until the client gives up): the
	// caller cannot know the outcome.
	TimeoutRate float64
}

// Faults are every fault the simulator injects. The zero value injects none.
type Faults struct {
	// Endpoints maps an endpoint path (praxis.PathCashier, ...) or
	// AllEndpoints to its faults; a path's own entry wins over "*".
	Endpoints map[string]EndpointFaults
	// DuplicateRate is the probability that an acknowledged notification is
	// delivered once more, with the same body.
	DuplicateRate float64
	// OutOfOrderRate is the probability that a non-final notification
	// (pending, initialized, in_progress, ...) is held back and delivered
	// after the next notification of the same tid.
	OutOfOrderRate float64
	// OutOfOrderHold is how long a held notification waits for the next one
	// before it is delivered anyway; default 1 s.
	OutOfOrderHold time.Duration
}

var knownPaths = []string{
	praxis.PathCashier, praxis.PathVirtualTerminal, praxis.PathManageTransaction,
	praxis.PathManageWithdrawal, praxis.PathFindTransaction, praxis.PathFindOrder, praxis.PathRefund,
}

// Validate names the first fault setting that cannot work.
func (f Faults) Validate() error {
	for path, ef := range f.Endpoints {
		if path != AllEndpoints && !isKnownPath(path) {
			return fmt.Errorf("faults.endpoints[%q]: unknown endpoint; known: * %v", path, knownPaths)
		}
		where := fmt.Sprintf("faults.endpoints[%q]", path)
		if ef.Latency < 0 || ef.Jitter < 0 {
			return fmt.Errorf("%s: latency and jitter must not be negative", where)
		}
		for name, r := range map[string]float64{"negative_rate": ef.NegativeRate, "server_error_rate": ef.ServerErrorRate, "timeout_rate": ef.TimeoutRate} {
			if err := checkRate(r); err != nil {
				return fmt.Errorf("%s.%s: %w", where, name, err)
			}
		}
		if sum := ef.NegativeRate + ef.ServerErrorRate + ef.TimeoutRate; sum > 1+1e-9 {
			return fmt.Errorf("%s: negative, server-error and timeout rates add up to %g, more than 1", where, sum)
		}
	}
	if err := checkRate(f.DuplicateRate); err != nil {
		return fmt.Errorf("faults.duplicate_rate: %w", err)
	}
	if err := checkRate(f.OutOfOrderRate); err != nil {
		return fmt.Errorf("faults.out_of_order_rate: %w", err)
	}
	if f.OutOfOrderHold < 0 {
		return fmt.Errorf("faults.out_of_order_hold: %v must not be negative", f.OutOfOrderHold)
	}
	return nil
}

func checkRate(r float64) error {
	if !simkit.ValidRate(r) {
		return fmt.Errorf("%g is not a probability between 0 and 1", r)
	}
	return nil
}

func isKnownPath(p string) bool {
	for _, k := range knownPaths {
		if k == p {
			return true
		}
	}
	return false
}

// clone copies the map so the caller's later edits cannot race the server.
func (f Faults) clone() Faults {
	out := f
	out.Endpoints = maps.Clone(f.Endpoints)
	if out.OutOfOrderHold == 0 {
		out.OutOfOrderHold = time.Second
	}
	return out
}

func (f *Faults) endpoint(path string) EndpointFaults {
	if ef, ok := f.Endpoints[path]; ok {
		return ef
	}
	return f.Endpoints[AllEndpoints]
}

// faultsJSON is the wire form of Faults on POST /sim/faults: durations in
// milliseconds, snake_case names.
type faultsJSON struct {
	Endpoints        map[string]endpointFaultsJSON `json:"endpoints,omitempty"`
	DuplicateRate    float64                       `json:"duplicate_rate"`
	OutOfOrderRate   float64                       `json:"out_of_order_rate"`
	OutOfOrderHoldMS float64                       `json:"out_of_order_hold_ms"`
}

type endpointFaultsJSON struct {
	LatencyMS       float64 `json:"latency_ms"`
	JitterMS        float64 `json:"jitter_ms"`
	NegativeRate    float64 `json:"negative_rate"`
	ServerErrorRate float64 `json:"server_error_rate"`
	TimeoutRate     float64 `json:"timeout_rate"`
}

func ms(d time.Duration) float64     { return float64(d) / float64(time.Millisecond) }
func fromMS(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// MarshalJSON writes durations as milliseconds, as POST /sim/faults reads them.
func (f Faults) MarshalJSON() ([]byte, error) {
	out := faultsJSON{DuplicateRate: f.DuplicateRate, OutOfOrderRate: f.OutOfOrderRate, OutOfOrderHoldMS: ms(f.OutOfOrderHold)}
	if len(f.Endpoints) > 0 {
		out.Endpoints = make(map[string]endpointFaultsJSON, len(f.Endpoints))
		paths := make([]string, 0, len(f.Endpoints))
		for p := range f.Endpoints {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		for _, p := range paths {
			ef := f.Endpoints[p]
			out.Endpoints[p] = endpointFaultsJSON{ms(ef.Latency), ms(ef.Jitter), ef.NegativeRate, ef.ServerErrorRate, ef.TimeoutRate}
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads the millisecond form written by MarshalJSON.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var in faultsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a misspelt fault must not silently do nothing
	if err := dec.Decode(&in); err != nil {
		return err
	}
	*f = Faults{DuplicateRate: in.DuplicateRate, OutOfOrderRate: in.OutOfOrderRate, OutOfOrderHold: fromMS(in.OutOfOrderHoldMS)}
	if len(in.Endpoints) > 0 {
		f.Endpoints = make(map[string]EndpointFaults, len(in.Endpoints))
		for p, ef := range in.Endpoints {
			f.Endpoints[p] = EndpointFaults{fromMS(ef.LatencyMS), fromMS(ef.JitterMS), ef.NegativeRate, ef.ServerErrorRate, ef.TimeoutRate}
		}
	}
	return nil
}
