complete -c wait -s f -l file -d 'Wait until PATH exists (any kind of file; symlinks are followed)' -r -F
complete -c wait -s i -l if -l intf -d 'Wait until the network interface NAME exists' -r
complete -c wait -s I -l ip -d 'Wait until interface NAME exists, is up and has a usable IPv4 or IPv6 address (not link-local, not tentative)' -r
complete -c wait -s t -l tcp -d 'Wait until HOST:PORT accepts a TCP connection ([v6addr]:PORT for IPv6; names are resolved again on every try)' -r
complete -c wait -s c -l cmd -l command -d 'Wait until CMD exits 0 (run with `sh -c` when a shell exists, else split into words and run directly)' -r
complete -c wait -s u -l umask -d 'Umask (octal, e.g. 022) for the command run after `--`' -r
complete -c wait -s s -l sleep -d 'Retry interval for TCP and command checks, in seconds (fractions allowed)' -r
complete -c wait -l timeout -d 'Give up after SECS seconds for all conditions together (exit 124)' -r
complete -c wait -s q -l quiet -d 'No progress lines (errors and the timeout message are still printed)'
complete -c wait -s h -l help -d 'Print help (see more with \'--help\')'
complete -c wait -s V -l version -d 'Print version'
