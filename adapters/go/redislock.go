package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bsm/redislock"
	"github.com/redis/go-redis/v9"
)

// redislockLock is bsm/redislock's Obtain on one Redis: one attempt per
// acquire (its default NoRetry), `acquire-within` its ExponentialBackoff
// within the deadline. Release of a lock that is no longer ours returns
// ErrLockNotHeld: what redislock tells its caller, passed on as `said`.
// With --renew, a goroutine Refreshes the grant every third of the lease
// (the watchdog pattern of redislock's README). No fencing token: the
// fence key option (bsm/redislock#94, merged in June 2026) is in no
// version the Go module proxy serves — v0.9.4 is the newest.
type redislockLock struct {
	notes   *Notes
	client  *redis.Client
	locker  *redislock.Client
	key     string
	lease   time.Duration
	timeout time.Duration
	renew   bool
	held    *redislock.Lock
	renewal *renewal
}

func openRedislock(start Start, notes *Notes, renew bool) (Adapter, error) {
	if len(start.Masters) > 0 {
		return nil, definitef("bsm/redislock locks on one Redis; the lab gave %d masters", 1+len(start.Masters))
	}
	client, err := newClient(start, start.Redis, true)
	if err != nil {
		return nil, err
	}
	l := &redislockLock{
		notes:   notes,
		client:  client,
		locker:  redislock.New(client),
		key:     start.LockKey,
		lease:   time.Duration(start.LeaseMs) * time.Millisecond,
		timeout: time.Duration(start.ResponseTimeoutMs+start.ConnectTimeoutMs) * time.Millisecond,
		renew:   renew,
	}
	if err := pingAll([]*redis.Client{client}, l.timeout); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *redislockLock) Name() string {
	name := fmt.Sprintf("bsm/redislock %s on go-redis %s", moduleVersion("github.com/bsm/redislock"), moduleVersion("github.com/redis/go-redis/v9"))
	if l.renew {
		name += ", Refresh every lease/3"
	}
	return name
}

// FollowsFailover: go-redis's failover client (newClient) asks the
// Sentinels for the primary and reconnects to the new one.
func (l *redislockLock) FollowsFailover() bool { return true }

func (l *redislockLock) Perform(req Request) (Answer, error) {
	switch req.Op {
	case "acquire":
		return l.obtain(context.Background(), nil)
	case "acquire-within":
		deadline := time.Duration(req.DeadlineMs) * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		return l.obtain(ctx, redislock.ExponentialBackoff(16*time.Millisecond, 256*time.Millisecond))
	case "write":
		return ok("write-with"), nil
	case "release":
		return l.release()
	}
	return nil, definitef("%s: bsm/redislock cannot do this", req.Op)
}

func (l *redislockLock) obtain(ctx context.Context, retry redislock.RetryStrategy) (Answer, error) {
	lock, err := l.locker.Obtain(ctx, l.key, l.lease, &redislock.Options{RetryStrategy: retry})
	switch {
	case errors.Is(err, redislock.ErrNotObtained), err != nil && ctx.Err() != nil:
		return ok("busy"), nil
	case err != nil:
		return nil, err
	}
	l.renewal.end()
	l.held = lock
	if l.renew {
		l.renewal = renewEvery(l.lease/3, func() error {
			return lock.Refresh(context.Background(), l.lease, nil)
		}, l.notes)
	}
	return Answer{"ok": "granted", "token": lock.Token()}, nil
}

func (l *redislockLock) release() (Answer, error) {
	lock := l.held
	if lock == nil {
		return nil, definitef("nothing to release: no grant held")
	}
	l.held = nil
	l.renewal.end()
	l.renewal = nil
	err := lock.Release(context.Background())
	switch {
	case err == nil:
		return ok("released"), nil
	case errors.Is(err, redislock.ErrLockNotHeld):
		l.notes.Note(describe(err))
		return ok("not-held"), nil
	}
	return nil, err
}

func (l *redislockLock) Reset(lockKey string) error {
	l.renewal.end()
	l.renewal, l.held, l.key = nil, nil, lockKey
	return nil
}

// Ping checks the connection, and runs redislock's obtain, refresh and
// release scripts once on a scratch key, so that each is loaded: a script
// it runs by EVALSHA then answers with its own reply, not a NOSCRIPT, when
// the lab holds that reply.
func (l *redislockLock) Ping() error {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	if err := l.client.Ping(ctx).Err(); err != nil {
		return err
	}
	scratch, err := l.locker.Obtain(ctx, l.key+":locklab-warm", l.lease, nil)
	if err != nil {
		return err
	}
	if err := scratch.Refresh(ctx, l.lease, nil); err != nil {
		return err
	}
	return scratch.Release(ctx)
}

func (l *redislockLock) Close() {
	l.renewal.end()
	_ = l.client.Close()
}
