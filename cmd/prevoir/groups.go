package main

// Subcommands that live in their own files, added to the groups that the
// datasets and models files define.
func init() {
	registerSub("datasets", datasetsGenerateCommand)
	register(scoreCommand)
	register(scoresCommand)
}
