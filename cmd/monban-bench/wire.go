package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"
)

// conn is one keep-alive HTTP/1.1 connection driven directly, as wrk
// does: the request is written as prepared bytes and the response read
// with net/http's parser, without the client Transport's goroutines,
// channels and header maps per request. The load generator shares the
// machine with the server, so every microsecond it spends per request is
// taken from the server; with net/http.Client, discovery measured about
// half of what the server answers to wrk.
type conn struct {
	addr string // host:port
	nc   net.Conn
	br   *bufio.Reader
	req  []byte       // the request being written, reused
	body bytes.Buffer // the last response body, reused
}

// response is what a scenario needs from an answer.
type response struct {
	status   int
	location string
	body     []byte // valid until the next roundTrip
}

// roundTrip sends one request and reads the whole answer. headers are
// complete "Name: value" lines. A failed exchange closes the connection;
// the next call dials again.
func (c *conn) roundTrip(method, target string, headers []string, body string) (response, error) {
	if c.nc == nil {
		nc, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return response{}, err
		}
		c.nc, c.br = nc, bufio.NewReaderSize(nc, 16<<10)
	}
	b := append(c.req[:0], method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.addr...)
	b = append(b, "\r\nUser-Agent: monban-bench\r\n"...)
	for _, h := range headers {
		b = append(b, h...)
		b = append(b, "\r\n"...)
	}
	if body != "" || method == http.MethodPost {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	c.req = b
	_ = c.nc.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.nc.Write(b); err != nil {
		return response{}, c.fail(err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return response{}, c.fail(err)
	}
	c.body.Reset()
	_, err = c.body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return response{}, c.fail(err)
	}
	if resp.Close {
		c.close()
	}
	return response{status: resp.StatusCode, location: resp.Header.Get("Location"), body: c.body.Bytes()}, nil
}

// fail closes the connection and describes err.
func (c *conn) fail(err error) error {
	c.close()
	if errors.Is(err, net.ErrClosed) {
		return err
	}
	return fmt.Errorf("http: %w", err)
}

// close drops the connection, if any.
func (c *conn) close() {
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc, c.br = nil, nil
	}
}
