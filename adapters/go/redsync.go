package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-redsync/redsync/v4"
	redsyncredis "github.com/go-redsync/redsync/v4/redis"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/redis/go-redis/v9"
)

// redsyncLock is go-redsync's Mutex on every master the start-up message
// gives: on one, the single-instance lock (judged as `token`); on three,
// the Redlock it is (judged as `redlock`, driven a master at a time through
// the gates). One attempt per acquire (TryLock); `acquire-within` is
// redsync's own retry loop (WithTries, its jittered delay) within the
// deadline. Unlock of a lock that is no longer ours returns false (with
// ErrLockAlreadyExpired when the key is gone): that is what redsync tells
// its caller, passed on as `said`. With --renew, a goroutine Extends the
// grant every third of the lease. No fencing token.
type redsyncLock struct {
	notes   *Notes
	clients []*redis.Client
	pools   []*gatedPool
	rs      *redsync.Redsync
	key     string
	lease   time.Duration
	timeout time.Duration
	options []redsync.Option
	renew   bool
	held    *redsync.Mutex
	renewal *renewal
	round   *round
}

// round is an acquire the lab drives a master at a time.
type round struct {
	mutex   *redsync.Mutex
	done    chan error
	gates   []*gate
	granted int
}

func openRedsync(start Start, notes *Notes, renew bool) (Adapter, error) {
	clients, err := newClients(start)
	if err != nil {
		return nil, err
	}
	pools := make([]*gatedPool, len(clients))
	lease := time.Duration(start.LeaseMs) * time.Millisecond
	l := &redsyncLock{
		notes:   notes,
		clients: clients,
		pools:   pools,
		key:     start.LockKey,
		lease:   lease,
		timeout: time.Duration(start.ResponseTimeoutMs+start.ConnectTimeoutMs) * time.Millisecond,
		renew:   renew,
	}
	gated := make([]redsyncredis.Pool, len(clients))
	for i, client := range clients {
		pools[i] = &gatedPool{inner: goredis.NewPool(client)}
		gated[i] = pools[i]
	}
	l.rs = redsync.New(gated...)
	l.options = []redsync.Option{redsync.WithExpiry(lease), redsync.WithTries(1)}
	if q := start.Quorum; q != nil {
		// The lab's drift allowance (a share of the lease and a floor) as
		// redsync's one factor; its timeout bounds a whole round, in which
		// the lab asks the masters a tick apart: a lease (no round that
		// long can keep a grant).
		drift := float64(q.DriftPpm)/1e6 + float64(q.DriftFloorUs)/float64(lease.Microseconds())
		l.options = append(l.options, redsync.WithDriftFactor(drift), redsync.WithTimeoutFactor(1))
	}
	if err := pingAll(clients, l.timeout); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *redsyncLock) Name() string {
	name := fmt.Sprintf("go-redsync %s Mutex on go-redis %s", moduleVersion("github.com/go-redsync/redsync/v4"), moduleVersion("github.com/redis/go-redis/v9"))
	if len(l.clients) > 1 {
		name += fmt.Sprintf(", %d masters", len(l.clients))
	}
	if l.renew {
		name += ", Extend every lease/3"
	}
	return name
}

func (l *redsyncLock) mutex(extra ...redsync.Option) *redsync.Mutex {
	return l.rs.NewMutex(l.key, append(append([]redsync.Option{}, l.options...), extra...)...)
}

func (l *redsyncLock) quorum() int { return len(l.pools)/2 + 1 }

// FollowsFailover: go-redis's failover client (newClient) asks the
// Sentinels for the primary and reconnects to the new one.
func (l *redsyncLock) FollowsFailover() bool { return true }

func (l *redsyncLock) Perform(req Request) (Answer, error) {
	switch req.Op {
	case "acquire":
		return l.attempt(l.mutex(), context.Background())
	case "acquire-within":
		deadline := time.Duration(req.DeadlineMs) * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		m := l.mutex(redsync.WithTries(1 << 20))
		if err := m.LockContext(ctx); err != nil {
			if ctx.Err() != nil || isBusy(err) {
				return ok("busy"), nil
			}
			return nil, err
		}
		return l.took(m), nil
	case "write":
		return ok("write-with"), nil
	case "release":
		return l.release()
	case "ask", "ask-lost":
		return l.ask(req.Node, req.Op == "ask-lost")
	case "conclude":
		return l.conclude()
	}
	return nil, definitef("%s: go-redsync cannot do this", req.Op)
}

func isBusy(err error) bool {
	var taken *redsync.ErrTaken
	return errors.As(err, &taken) || errors.Is(err, redsync.ErrFailed)
}

func (l *redsyncLock) attempt(m *redsync.Mutex, ctx context.Context) (Answer, error) {
	err := m.TryLockContext(ctx)
	switch {
	case err == nil:
		return l.took(m), nil
	case isBusy(err):
		return ok("busy"), nil
	default:
		return nil, err
	}
}

func (l *redsyncLock) took(m *redsync.Mutex) Answer {
	l.renewal.end()
	l.held = m
	if l.renew {
		l.renewal = renewEvery(l.lease/3, func() error {
			extended, err := m.Extend()
			if err == nil && !extended {
				err = redsync.ErrExtendFailed
			}
			return err
		}, l.notes)
	}
	return Answer{"ok": "granted", "token": m.Value()}
}

func (l *redsyncLock) release() (Answer, error) {
	m := l.held
	if m == nil {
		return nil, definitef("nothing to release: no grant held")
	}
	l.held = nil
	l.renewal.end()
	l.renewal = nil
	released, err := m.Unlock()
	if released {
		return ok("released"), nil
	}
	var taken *redsync.ErrTaken
	if err == nil || errors.Is(err, redsync.ErrLockAlreadyExpired) || errors.As(err, &taken) {
		if err != nil {
			l.notes.Note("Unlock: false, " + describe(err))
		} else {
			l.notes.Note("Unlock: false")
		}
		return ok("not-held"), nil
	}
	return nil, err
}

// ask lets master `node`'s SET NX of the lab's round go out, starting the
// round (redsync's TryLock, every master gated) at the first ask.
func (l *redsyncLock) ask(node int, lost bool) (Answer, error) {
	if node < 0 || node >= len(l.pools) {
		return nil, definitef("no master %d: this lock has %d", node+1, len(l.pools))
	}
	if l.round == nil {
		r := &round{mutex: l.mutex(), done: make(chan error, 1)}
		for _, p := range l.pools {
			g := newGate()
			r.gates = append(r.gates, g)
			p.gate.Store(g)
		}
		go func() { r.done <- r.mutex.TryLockContext(context.Background()) }()
		l.round = r
	}
	r := l.round
	g := r.gates[node]
	select {
	case g.run <- lost:
	case err := <-r.done:
		r.done <- err
		return nil, definitef("the round ended before master %d was asked: %v", node+1, err)
	case <-time.After(l.timeout):
		return nil, fmt.Errorf("master %d's request was not taken within %v", node+1, l.timeout)
	}
	select {
	case said := <-g.said:
		switch {
		case said.err != nil:
			return ok("unreachable"), nil
		case said.granted:
			if !lost {
				r.granted++
			}
			return Answer{"ok": "granted", "token": r.mutex.Value()}, nil
		default:
			return ok("busy"), nil
		}
	case <-time.After(l.timeout):
		return nil, fmt.Errorf("master %d did not answer within %v", node+1, l.timeout)
	}
}

// conclude waits for redsync's verdict on the round: held; busy without a
// majority; expired with a majority but no validity left (redsync then
// released every master).
func (l *redsyncLock) conclude() (Answer, error) {
	r := l.round
	if r == nil {
		return nil, definitef("nothing to conclude: no master was asked")
	}
	var err error
	select {
	case err = <-r.done:
	case <-time.After(l.timeout):
		return nil, fmt.Errorf("redsync did not conclude within %v", l.timeout)
	}
	l.round = nil
	for _, p := range l.pools {
		p.gate.Store(nil)
	}
	switch {
	case err == nil:
		return l.took(r.mutex), nil
	case r.granted >= l.quorum():
		return ok("expired"), nil
	default:
		return ok("busy"), nil
	}
}

func (l *redsyncLock) Reset(lockKey string) error {
	l.renewal.end()
	l.renewal, l.held, l.key = nil, nil, lockKey
	if l.round != nil {
		for _, p := range l.pools {
			p.gate.Store(nil)
		}
		l.round = nil
	}
	return nil
}

// Ping checks every master, and runs redsync's release and extend scripts
// once on a scratch key: a script redsync runs by EVALSHA is then loaded,
// so a reply the lab holds later is the command's own, not a NOSCRIPT.
func (l *redsyncLock) Ping() error {
	if err := pingAll(l.clients, l.timeout); err != nil {
		return err
	}
	scratch := l.rs.NewMutex(l.key+":locklab-warm", redsync.WithValue("locklab-warm"))
	if _, err := scratch.Unlock(); err != nil && !errors.Is(err, redsync.ErrLockAlreadyExpired) && !isBusy(err) {
		return err
	}
	if _, err := scratch.Extend(); err != nil && !errors.Is(err, redsync.ErrExtendFailed) && !isBusy(err) {
		return err
	}
	return nil
}

func (l *redsyncLock) Close() {
	l.renewal.end()
	for _, c := range l.clients {
		_ = c.Close()
	}
}
