package main

// runServe is implemented by the serve subcommand (owned by the gateway work).
func runServe(args []string) int { return 2 }
