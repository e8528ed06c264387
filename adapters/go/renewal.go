package main

import (
	"sync"
	"time"
)

// renewal extends a grant every third of its lease, as the libraries'
// documentation shows (redsync's Extend, redislock's Refresh in a
// goroutine), until it is stopped or a renewal fails; a failure is told to
// the holder as the library reported it.
//
// This is where worker protocol version 2 hooks in: each renewal and the
// loss are reported there as lines of their own (renewed, lost); today a
// failure is only a `said` note on the next reply.
type renewal struct {
	stop chan struct{}
	once sync.Once
}

// renewEvery starts renewing: renew returns nil while the lease was
// extended; the first error ends the loop and is noted.
func renewEvery(every time.Duration, renew func() error, notes *Notes) *renewal {
	r := &renewal{stop: make(chan struct{})}
	go func() {
		ticker := time.NewTicker(every)
		defer ticker.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-ticker.C:
				if err := renew(); err != nil {
					if r.stopped() {
						return // released meanwhile: nothing was lost
					}
					notes.Note("the renewal stopped: " + describe(err))
					return
				}
			}
		}
	}()
	return r
}

func (r *renewal) stopped() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}

// end stops renewing (nil: none). It does not wait for a renewal in
// flight, whose reply the lab may hold: a renewal after the release finds
// the token gone and changes nothing.
func (r *renewal) end() {
	if r != nil {
		r.once.Do(func() { close(r.stop) })
	}
}
