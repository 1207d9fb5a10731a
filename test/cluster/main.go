// Command cluster is one multi-call binary holding a local Kubernetes control plane for tests.
// The first argument names the component; each component runs as its own OS process because
// they share process-global registries (feature gates, component versions):
//
//	cluster etcd --data-dir DIR --client-port N --peer-port N
//	cluster kube-apiserver FLAGS...
//	cluster kube-controller-manager FLAGS...
//	cluster kube-scheduler FLAGS...
//	cluster kwok FLAGS...
//	cluster kwok-stages          (prints KWOK's default node and pod Stage objects as YAML)
//	cluster version
package main

import (
	"fmt"
	"os"
	_ "time/tzdata" // CronJob time zones, as the upstream binaries do

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/component-base/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: cluster etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok|kwok-stages|version [flags]")
		os.Exit(2)
	}
	component := os.Args[1]
	// Each component parses os.Args[1:] itself: drop the component name.
	os.Args = append([]string{component}, os.Args[2:]...)
	os.Exit(run(component))
}

func run(component string) int {
	switch component {
	case "etcd":
		return runEtcd(os.Args[1:])
	case "kube-apiserver":
		return cli.Run(apiserver.NewAPIServerCommand())
	case "kube-controller-manager":
		return cli.Run(controllermanager.NewControllerManagerCommand())
	case "kube-scheduler":
		return cli.Run(scheduler.NewSchedulerCommand())
	case "kwok":
		return runKwok()
	case "kwok-stages":
		fmt.Print(kwokStages())
		return 0
	case "version":
		fmt.Println(version.Get().GitVersion)
		return 0
	}
	fmt.Fprintf(os.Stderr, "cluster: unknown component %q\n", component)
	return 2
}
