// locklab-go: the Go lock libraries as locklab workers
// (docs/worker-protocol.md).
//
//	locklab-go redsync [--renew]     go-redsync's Mutex, on every master the lab gives
//	locklab-go redislock [--renew]   bsm/redislock's Obtain
//	locklab-go noop                  no lock, no Redis: the protocol's own cost
//
// --renew renews each grant every third of its lease (redsync's Extend,
// redislock's Refresh) until it is released or a renewal fails.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
)

func main() {
	args := os.Args[1:]
	renew := len(args) == 2 && args[1] == "--renew"
	if len(args) == 0 || len(args) > 2 || (len(args) == 2 && !renew) {
		usage()
	}
	var open func(Start, *Notes, bool) (Adapter, error)
	switch args[0] {
	case "redsync":
		open = openRedsync
	case "redislock":
		open = openRedislock
	case "noop":
		open = openNoop
	default:
		usage()
	}
	serve(func(start Start, notes *Notes) (Adapter, error) { return open(start, notes, renew) })
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: locklab-go redsync|redislock [--renew] | noop")
	os.Exit(2)
}

// moduleVersion is the version of a module built into this binary.
func moduleVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == path {
				return m.Version
			}
		}
	}
	return "(version unknown)"
}
