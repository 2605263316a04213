package sweep

import (
	"os"
	"sync"
	"testing"

	"github.com/driftwatch/driftwatch/internal/mototest"
)

// One moto server serves the package's tests that need one, started on first
// use and reset for each test.
var (
	motoOnce sync.Once
	motoSrv  *mototest.Server
	motoErr  error
)

func moto(t *testing.T) *mototest.Server {
	t.Helper()
	motoOnce.Do(func() { motoSrv, motoErr = mototest.Launch() })
	if motoErr != nil {
		t.Fatalf("start moto: %v", motoErr)
	}
	motoSrv.Reset(t)
	return motoSrv
}

func TestMain(m *testing.M) {
	code := m.Run()
	if motoSrv != nil {
		motoSrv.Stop()
	}
	os.Exit(code)
}
