package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/prevoir/prevoir/datasets"
	"github.com/prevoir/prevoir/datasets/stores"
	"github.com/prevoir/prevoir/models/registry"
)

// completeCommand is the hidden command the completion scripts call with
// the words typed so far (the last one the word being completed); it
// prints the candidates, one a line.
const completeCommand = "__complete"

// completionScripts are what `prevoir completion SHELL` prints. Each
// passes the words typed to `prevoir __complete`, so the candidates
// (commands, flags, dataset and model names) come from this binary.
var completionScripts = map[string]string{
	"bash": `# bash completion for prevoir; load with: source <(prevoir completion bash)
_prevoir_complete() {
  local IFS=$'\n'
  COMPREPLY=($("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _prevoir_complete prevoir
`,
	"zsh": `#compdef prevoir
# zsh completion for prevoir; load with: source <(prevoir completion zsh)
_prevoir() {
  local -a opts
  opts=("${(@f)$("${words[1]}" __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -a opts
}
compdef _prevoir prevoir
`,
	"fish": `# fish completion for prevoir; load with: prevoir completion fish | source
function __prevoir_complete
    set -l tokens (commandline -opc)
    $tokens[1] __complete $tokens[2..-1] (commandline -ct) 2>/dev/null
end
complete -c prevoir -f -a '(__prevoir_complete)'
`,
}

// modelRefCommands take a model (NAME[@REF]) as their argument.
var modelRefCommands = map[string]bool{"show": true, "diff": true, "predict": true, "promote": true, "rm": true, "ls": true, "history": true, "report": true}

func hiddenCompleteCommand() *cli.Command {
	return &cli.Command{
		Name:            completeCommand,
		Hidden:          true,
		SkipFlagParsing: true,
		Usage:           "print completion candidates for the words typed (used by the completion scripts)",
		Action: func(c *cli.Context) error {
			for _, s := range complete(c.Context, c.App, c.Args().Slice()) {
				fmt.Fprintln(out(c), s)
			}
			return nil
		},
	}
}

// complete returns the candidates for the last of words (the words after
// the program name), given the ones before it.
func complete(ctx context.Context, app *cli.App, words []string) []string {
	cur := ""
	if len(words) > 0 {
		cur, words = words[len(words)-1], words[:len(words)-1]
	}
	var path []string // the commands typed: models show
	cmds, flags := app.Commands, app.Flags
	store := os.Getenv("PREVOIR_STORE")
	if store == "" {
		store = DefaultStore
	}
	var valueOf string // the flag whose value is being typed
	for i := 0; i < len(words); i++ {
		w := words[i]
		valueOf = ""
		if strings.HasPrefix(w, "-") && len(w) > 1 {
			name, _, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			f := findFlag(name, flags, app.Flags)
			if f != nil && takesValue(f) && !hasValue {
				if i+1 < len(words) {
					if name == "store" {
						store = words[i+1]
					}
					i++
				} else {
					valueOf = name
				}
			}
			continue
		}
		if sub := findCommand(cmds, w); sub != nil && sub.Name != "help" && sub.Name != "h" {
			path = append(path, sub.Name)
			cmds, flags = sub.Subcommands, sub.Flags
		}
	}
	var cands []string
	switch {
	case valueOf == "dataset":
		cands = storeNames(ctx, store, func(ctx context.Context, st datasets.Store) ([]string, error) {
			return datasets.ListDatasets(ctx, st)
		})
	case valueOf == "task":
		cands = []string{"churn"}
	case valueOf != "":
		return nil // a file, a number: the shell's default
	case strings.HasPrefix(cur, "-"):
		for _, fs := range [][]cli.Flag{flags, app.Flags} {
			for _, f := range fs {
				if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
					continue
				}
				for _, n := range f.Names() {
					if len(n) > 1 {
						cands = append(cands, "--"+n)
					}
				}
			}
		}
	case len(cmds) > 0:
		for _, c := range cmds {
			if !c.Hidden {
				cands = append(cands, c.Name)
			}
		}
	case len(path) == 2 && path[0] == "models" && modelRefCommands[path[1]]:
		cands = storeNames(ctx, store, func(ctx context.Context, st datasets.Store) ([]string, error) {
			return registry.New(st, registry.Options{}).Names(ctx)
		})
	}
	var out []string
	for _, c := range cands {
		if strings.HasPrefix(c, cur) {
			out = append(out, c)
		}
	}
	sort.Strings(out)
	return out
}

func findFlag(name string, lists ...[]cli.Flag) cli.Flag {
	for _, fs := range lists {
		for _, f := range fs {
			for _, n := range f.Names() {
				if n == name {
					return f
				}
			}
		}
	}
	return nil
}

// storeNames lists names in a local store, for completion: cheap, so an
// S3 store or a missing folder gives none.
func storeNames(ctx context.Context, url string, list func(context.Context, datasets.Store) ([]string, error)) []string {
	if stores.IsRemote(url) || stores.Check(url) != nil {
		return nil
	}
	st, err := stores.Open(ctx, url, stores.Options{NoCreate: true})
	if err != nil {
		return nil
	}
	names, err := list(ctx, st)
	if err != nil {
		return nil
	}
	return names
}
