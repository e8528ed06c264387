// The locklab worker protocol, version 1 (docs/worker-protocol.md), for Go
// lock adapters: serve reads the start-up message, opens the adapter, says
// ready, and answers one line per request, in order.
//
// stdout carries protocol lines only, each written whole by send under a
// mutex, so that a lock's background goroutine (a renewal loop) may write a
// line of its own once the protocol has one for it (version 2's renewal
// reports); today such a goroutine leaves a note, sent as `said` with the
// next reply.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

const protocolVersion = 1

// maxLine is the longest request line read.
const maxLine = 1 << 20

// Start is the lab's start-up message.
type Start struct {
	Op                string    `json:"op"`
	Version           int       `json:"version"`
	Client            string    `json:"client"`
	Redis             string    `json:"redis"`
	LockKey           string    `json:"lock_key"`
	LeaseMs           int64     `json:"lease_ms"`
	ConnectTimeoutMs  int64     `json:"connect_timeout_ms"`
	ResponseTimeoutMs int64     `json:"response_timeout_ms"`
	Masters           []string  `json:"masters"`
	Quorum            *Quorum   `json:"quorum"`
	Sentinel          *Sentinel `json:"sentinel"`
}

// Quorum is a quorum lock's timing, as the lab sets it.
type Quorum struct {
	DriftPpm        int64 `json:"drift_ppm"`
	DriftFloorUs    int64 `json:"drift_floor_us"`
	MasterTimeoutMs int64 `json:"master_timeout_ms"`
}

// Sentinel names the lab's Sentinel set: the client finds the primary
// through it, and follows a failover.
type Sentinel struct {
	Service string   `json:"service"`
	Addrs   []string `json:"addrs"`
}

// Request is one request line.
type Request struct {
	Op         string `json:"op"`
	DeadlineMs int64  `json:"deadline_ms"`
	LockKey    string `json:"lock_key"`
	Node       int    `json:"node"`
}

// Answer is a reply line.
type Answer map[string]any

func ok(word string) Answer { return Answer{"ok": word} }

// Definite is an error after which the operation surely did not happen.
type Definite struct{ Text string }

func (d Definite) Error() string { return d.Text }

func definitef(format string, args ...any) error { return Definite{fmt.Sprintf(format, args...)} }

// Adapter is one lock library behind the protocol.
type Adapter interface {
	Name() string
	// FollowsFailover says it locks through the start-up message's
	// Sentinel set, when there is one, and follows its failovers.
	FollowsFailover() bool
	Perform(req Request) (Answer, error)
	Reset(lockKey string) error
	Ping() error
	Close()
}

// Notes collects what the library told its caller, sent as `said`.
type Notes struct {
	mu   sync.Mutex
	said []string
}

// Note keeps one thing the library said (any goroutine).
func (n *Notes) Note(text string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.said = append(n.said, text)
}

func (n *Notes) take() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	said := n.said
	n.said = nil
	return said
}

var out = struct {
	sync.Mutex
	w io.Writer
}{w: os.Stdout}

// send writes one protocol line (any goroutine).
func send(message Answer) {
	line, err := json.Marshal(message)
	if err != nil {
		line, _ = json.Marshal(Answer{"err": "unencodable answer: " + err.Error()})
	}
	out.Lock()
	defer out.Unlock()
	_, _ = out.w.Write(append(line, '\n'))
}

// describe is an error as one line.
func describe(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}

func failure(err error) Answer {
	answer := Answer{"err": describe(err)}
	var definite Definite
	if errors.As(err, &definite) {
		answer["definite"] = true
	}
	return answer
}

// serve speaks the protocol on stdin and stdout until stdin closes or
// `quit`, with the adapter open returns; it exits the process.
func serve(open func(Start, *Notes) (Adapter, error)) {
	in := bufio.NewReaderSize(os.Stdin, 64*1024)
	notes := &Notes{}
	reply := func(answer Answer) {
		if said := notes.take(); len(said) > 0 {
			answer["said"] = strings.Join(said, "; ")
		}
		send(answer)
	}
	var start Start
	line, err := readLine(in)
	for err == nil && strings.TrimSpace(line) == "" {
		line, err = readLine(in)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stdin closed before the start-up message")
		os.Exit(2)
	}
	adapter, err := func() (Adapter, error) {
		if err := json.Unmarshal([]byte(line), &start); err != nil || start.Op != "start" {
			return nil, definitef("expected the start-up message, got %.200q", line)
		}
		if start.Version != protocolVersion {
			return nil, definitef("the lab speaks worker protocol version %d, this adapter speaks %d",
				start.Version, protocolVersion)
		}
		return open(start, notes)
	}()
	if err != nil {
		send(Answer{"err": describe(err), "definite": true})
		fmt.Fprintln(os.Stderr, "adapter:", describe(err))
		os.Exit(2)
	}
	ready := Answer{"ready": adapter.Name(), "version": protocolVersion, "pid": os.Getpid(), "name": start.Client}
	if adapter.FollowsFailover() {
		ready["follows_failover"] = true
	}
	send(ready)

	for {
		line, err := readLine(in)
		if err != nil {
			break
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		var req Request
		if err := json.Unmarshal([]byte(line), &req); err != nil || req.Op == "" {
			reply(Answer{"err": fmt.Sprintf("bad request %.200q", line), "definite": true})
			continue
		}
		switch req.Op {
		case "quit":
			reply(ok("bye"))
			adapter.Close()
			os.Exit(0)
		case "reset":
			if err := adapter.Reset(req.LockKey); err != nil {
				reply(failure(err))
			} else {
				reply(ok("reset"))
			}
		case "ping":
			if err := adapter.Ping(); err != nil {
				reply(failure(err))
			} else {
				reply(ok("pong"))
			}
		default:
			answer, err := adapter.Perform(req)
			if err != nil {
				answer = failure(err)
			}
			reply(answer)
		}
	}
	adapter.Close()
	os.Exit(0)
}

// readLine reads one line (without its newline); a line longer than
// maxLine is an error.
func readLine(in *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		chunk, more, err := in.ReadLine()
		if err != nil {
			return "", err
		}
		b.Write(chunk)
		if b.Len() > maxLine {
			return "", errors.New("a request line over 1 MiB")
		}
		if !more {
			return b.String(), nil
		}
	}
}
