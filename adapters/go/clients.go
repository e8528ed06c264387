package main

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// newClient is a go-redis client for one master of the start-up message:
// `redis` (the lab's proxy) or, with a Sentinel set, go-redis's failover
// client, which asks the Sentinels for the primary and follows a failover
// as go-redis does (it reconnects to the new primary on +switch-master).
func newClient(start Start, url string, first bool) (*redis.Client, error) {
	connect := time.Duration(start.ConnectTimeoutMs) * time.Millisecond
	response := time.Duration(start.ResponseTimeoutMs) * time.Millisecond
	if first && start.Sentinel != nil {
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:    start.Sentinel.Service,
			SentinelAddrs: start.Sentinel.Addrs,
			DialTimeout:   connect,
			ReadTimeout:   response,
			WriteTimeout:  response,
			PoolSize:      4,
		}), nil
	}
	options, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	options.DialTimeout = connect
	options.ReadTimeout = response
	options.WriteTimeout = response
	options.PoolSize = 4
	return redis.NewClient(options), nil
}

// newClients is one client per master: `redis`, then `masters`.
func newClients(start Start) ([]*redis.Client, error) {
	urls := append([]string{start.Redis}, start.Masters...)
	clients := make([]*redis.Client, 0, len(urls))
	for i, url := range urls {
		client, err := newClient(start, url, i == 0)
		if err != nil {
			return nil, err
		}
		clients = append(clients, client)
	}
	return clients, nil
}

// pingAll makes sure every client's connection works.
func pingAll(clients []*redis.Client, timeout time.Duration) error {
	for i, client := range clients {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		err := client.Ping(ctx).Err()
		cancel()
		if err != nil {
			return fmt.Errorf("master %d: %w", i+1, err)
		}
	}
	return nil
}
