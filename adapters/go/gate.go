package main

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	redsyncredis "github.com/go-redsync/redsync/v4/redis"
)

// The quorum model's steps ask one master at a time (`ask n`), then
// `conclude`; redsync asks every master at once, inside one call. A gate
// between redsync and each master's connection lets the lab choose when
// each master's `SET NX` goes out — as the lab's proxy chooses when a reply
// comes back — while redsync itself counts the grants, measures the time
// the round took against its validity and drift, and releases what it
// does not keep. Only the acquire's `SET NX` waits at the gate, and only
// during a round the lab drives with `ask`; everything else passes.

// errReplyLost is what redsync sees of a master whose reply the lab
// dropped (`ask-lost`): the request ran, the client counts no grant.
var errReplyLost = errors.New("the reply was lost (ask-lost)")

// setNXResult is what one master said to the acquire's SET NX.
type setNXResult struct {
	granted bool
	err     error
}

// gate holds one master's SET NX until the lab asks that master.
type gate struct {
	// run lets the waiting SET NX go out; true: its reply is then lost.
	run chan bool
	// said carries what the master answered, for the lab.
	said chan setNXResult
}

func newGate() *gate {
	return &gate{run: make(chan bool), said: make(chan setNXResult, 1)}
}

// gatedPool is one master's pool with a gate that a round may close.
type gatedPool struct {
	inner redsyncredis.Pool
	gate  atomic.Pointer[gate]
}

func (p *gatedPool) Get(ctx context.Context) (redsyncredis.Conn, error) {
	conn, err := p.inner.Get(ctx)
	if err != nil {
		return nil, err
	}
	return &gatedConn{Conn: conn, ctx: ctx, pool: p}, nil
}

type gatedConn struct {
	redsyncredis.Conn
	ctx  context.Context
	pool *gatedPool
}

func (c *gatedConn) SetNX(name, value string, expiry time.Duration) (bool, error) {
	g := c.pool.gate.Load()
	if g == nil {
		return c.Conn.SetNX(name, value, expiry)
	}
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	select {
	case lost := <-g.run:
		granted, err := c.Conn.SetNX(name, value, expiry)
		g.said <- setNXResult{granted, err}
		if lost {
			return false, errReplyLost
		}
		return granted, err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}
