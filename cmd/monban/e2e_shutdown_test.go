package main

import (
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMDuringBurst is issue #6's "must show" 4 (checklist R7): a
// burst of requests is running when monban, configured with a drain delay
// as behind a load balancer, gets SIGTERM; every request of the burst gets
// a complete answer (none reset, cut short or refused), and the process
// then exits 0.
func TestSIGTERMDuringBurst(t *testing.T) {
	addr := freeAddr(t)
	issuer := "http://" + addr
	cmd := exec.Command(monbanBinary(t), "serve", "--dev", "--listen", addr, "--issuer", issuer, "--management-listen", freeAddr(t))
	cmd.Env = append(os.Environ(), "MONBAN_LOG_LEVEL=error", "MONBAN_SHUTDOWN_DELAY=3s")
	var stderr syncBuffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for attempt := 0; ; attempt++ { // bounded wait for start-up
		if resp, err := client.Get(issuer + "/jwks"); err == nil {
			resp.Body.Close()
			break
		}
		if attempt == 300 {
			t.Fatalf("monban did not start: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}

	var completed, refused atomic.Int64
	var mu sync.Mutex
	var broken []error
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := 0; i < 2000; i++ { // bounded in count and time
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get(issuer + "/.well-known/openid-configuration")
				if err != nil {
					if errors.Is(err, syscall.ECONNREFUSED) {
						refused.Add(1)
						continue
					}
					mu.Lock()
					broken = append(broken, err)
					mu.Unlock()
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					mu.Lock()
					broken = append(broken, errors.Join(err, errors.New(resp.Status)))
					mu.Unlock()
					continue
				}
				completed.Add(1)
			}
		})
	}
	for completed.Load() < 200 { // the burst is under way
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the burst goes on after SIGTERM (within the drain delay)
	close(stop)
	wg.Wait()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("monban exited with %v: %s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("monban did not stop within 30 s of SIGTERM")
	}
	if len(broken) > 0 || refused.Load() > 0 {
		t.Fatalf("%d requests were cut short or reset during shutdown, e.g. %v (completed %d, refused %d)",
			len(broken), broken[0], completed.Load(), refused.Load())
	}
	t.Logf("completed %d, refused after the listener closed %d", completed.Load(), refused.Load())
}
