package main

import (
	"fmt"
	"os"

	"github.com/driftwatch/driftwatch/shared/policy"
)

func main() {
	rules, err := policy.LoadFS(os.DirFS(os.Args[1]), "*"+policy.RuleFileSuffix)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	eng, err := policy.Compile(rules)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	files, err := policy.LoadTestsFS(os.DirFS(os.Args[1]), "*"+policy.TestFileSuffix)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	res := policy.RunTests(eng, files...)
	failed := 0
	for _, r := range res {
		if !r.Passed || len(os.Args) > 2 {
			if r.Got == policy.Fail {
				fmt.Println("   MSG:", r.Message)
			}
			fmt.Println(r)
		}
		if !r.Passed {
			failed++
		}
	}
	fmt.Println(len(res), "cases", failed, "failed; missing:", policy.Coverage(eng, files...))
}
