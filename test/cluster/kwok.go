package main

import (
	"os"
	"strings"

	"github.com/spf13/pflag"
	"sigs.k8s.io/kwok/kustomize/stage/node/fast"
	heartbeatwithlease "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
	"sigs.k8s.io/kwok/pkg/config"
	kwokcmd "sigs.k8s.io/kwok/pkg/kwok/cmd"
	"sigs.k8s.io/kwok/pkg/log"
	"sigs.k8s.io/kwok/pkg/utils/signals"
)

// kwokStages is KWOK's default set of Stage objects: nodes become Ready and keep a lease,
// pods on KWOK nodes become Running/Ready, complete, and go away when deleted.
func kwokStages() string {
	docs := []string{
		fast.DefaultNodeInit,
		heartbeatwithlease.DefaultNodeHeartbeatWithLease,
		podfast.DefaultPodReady,
		podfast.DefaultPodComplete,
		podfast.DefaultPodDelete,
	}
	for i, doc := range docs {
		docs[i] = strings.TrimSpace(doc) + "\n"
	}
	return strings.Join(docs, "---\n")
}

// runKwok mirrors KWOK's own main: global flags for logging and config files, then its command.
func runKwok() int {
	// The Kubernetes packages linked into this binary register flags such as a non-bool --version on
	// pflag.CommandLine at init; KWOK's cobra command would inherit them and clash with its own.
	pflag.CommandLine = pflag.NewFlagSet("kwok", pflag.ContinueOnError)

	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flagset.ParseErrorsAllowlist.UnknownFlags = true
	flagset.Usage = func() {}

	ctx := signals.SetupSignalContext()
	ctx, logger := log.InitFlags(ctx, flagset)
	ctx, err := config.InitFlags(ctx, flagset)
	if err != nil {
		logger.Error("kwok: init config flags", "err", err)
		return 1
	}

	command := kwokcmd.NewCommand(ctx)
	command.PersistentFlags().AddFlagSet(flagset)
	command.SetArgs(os.Args[1:])
	if err := command.ExecuteContext(ctx); err != nil {
		logger.Error("kwok: exit", "err", err)
		return 1
	}
	return 0
}
