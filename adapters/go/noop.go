package main

import (
	"os"
	"strconv"
)

// noopLock talks to no Redis at all and grants every acquire at once: what
// it costs per operation is the worker protocol's own cost in a Go process,
// which `locklab bench --lock-cmd` measures beside the real adapters. Not a
// lock.
type noopLock struct{ held bool }

func openNoop(Start, *Notes, bool) (Adapter, error) { return &noopLock{}, nil }

func (*noopLock) Name() string          { return "no-op (Go, no Redis)" }
func (*noopLock) FollowsFailover() bool { return false }
func (*noopLock) Reset(string) error    { return nil }
func (*noopLock) Ping() error           { return nil }
func (*noopLock) Close()                {}

func (n *noopLock) Perform(req Request) (Answer, error) {
	switch req.Op {
	case "acquire", "acquire-within":
		n.held = true
		return Answer{"ok": "granted", "token": strconv.Itoa(os.Getpid())}, nil
	case "write":
		return ok("write-with"), nil
	case "release":
		held := n.held
		n.held = false
		if held {
			return ok("released"), nil
		}
		return ok("not-held"), nil
	}
	return nil, definitef("%s: the no-op worker cannot do this", req.Op)
}
