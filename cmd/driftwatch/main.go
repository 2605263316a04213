// Command driftwatch is the local command line of driftwatch: explain and
// replay CloudTrail events, validate and test rules, run the demo.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/driftwatch/driftwatch/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Run(ctx, os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
