// Package browsertest starts real headless Chromium (Debian's chromium
// package) for the repository's browser tests and gives them a step runner
// with its own timeout and a screenshot helper. Only tests import it.
//
// Without Chromium a browser test fails with install instructions, unless
// MONBAN_SKIP_BROWSER_TESTS=1 is set: browser tests are never skipped
// silently.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Start launches headless Chromium for t and returns its tab's context;
// everything is closed when the test ends.
func Start(t testing.TB) context.Context {
	t.Helper()
	if os.Getenv("MONBAN_SKIP_BROWSER_TESTS") == "1" {
		t.Skip("MONBAN_SKIP_BROWSER_TESTS=1")
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("headless Chromium not found (%v): install the Debian package `chromium` "+
			"(apt-get install -y chromium), or set MONBAN_SKIP_BROWSER_TESTS=1 to skip browser tests", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// This machine's network is closed: background fetches only fail.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancelTab := chromedp.NewContext(ctx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil { // start the browser
		t.Fatalf("start Chromium at %s: %v", path, err)
	}
	return ctx
}

// Do runs browser steps with a timeout of their own, so a stuck page fails
// the test quickly, naming the step and where the browser was.
func Do(t testing.TB, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (browser at %s)", step, err, loc)
	}
}

// Screenshot saves a full-page PNG of the tab as dir/name (a test
// artifact; the artifact directories are gitignored).
func Screenshot(t testing.TB, ctx context.Context, dir, name string) {
	t.Helper()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)
}

// LayoutProblems is JavaScript that lists what does not fit on the page:
// horizontal scrolling, elements that leave the viewport, and text wider
// or taller than its box (a clipped button label, a heading running out
// of the card). Scrollable boxes and hidden elements are left alone.
const LayoutProblems = `(() => {
  const out = [], vw = document.documentElement.clientWidth;
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "") +
    " «" + (el.innerText || el.value || "").trim().slice(0, 40) + "»";
  if (document.documentElement.scrollWidth > vw) {
    out.push("the page scrolls sideways: " + document.documentElement.scrollWidth + " > " + vw);
  }
  for (const el of document.querySelectorAll("body *")) {
    const cs = getComputedStyle(el);
    if (cs.display === "none" || cs.visibility === "hidden" || el.closest(".visually-hidden")) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > vw + 1 || r.left < -1) out.push(name(el) + " leaves the viewport (" + Math.round(r.left) + ".." + Math.round(r.right) + ")");
    if (["INPUT", "TEXTAREA", "SELECT", "IMG", "svg"].includes(el.tagName)) continue;
    const scrolls = v => v === "auto" || v === "scroll";
    if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0 && !scrolls(cs.overflowX)) out.push(name(el) + " clips or spills its text sideways");
    if (el.scrollHeight > el.clientHeight + 1 && el.clientHeight > 0 && cs.overflowY === "hidden") out.push(name(el) + " clips its text");
  }
  return out.join("\n");
})()`

// CheckLayout fails t when the page in the tab does not fit (see
// LayoutProblems).
func CheckLayout(t testing.TB, ctx context.Context, what string) {
	t.Helper()
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[string](LayoutProblems))
	if err != nil {
		t.Fatalf("%s: layout check: %v", what, err)
	}
	if problems != "" {
		t.Errorf("%s does not fit:\n%s", what, problems)
	}
}
