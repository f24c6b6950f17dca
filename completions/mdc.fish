complete -c mdc -l modes-dir -d 'Modes dirs (each subdirectory is a mode) or JSON dep files, colon- or comma-separated' -r
complete -c mdc -l env-file -d 'The env file to write (and to pass to compose)' -r -F
complete -c mdc -l files-dir -d 'Where the modes\' `<svc>/files/` trees are merged (rebuilt every run)' -r -F
complete -c mdc -l compose-command -d 'The compose command [env: DOCKER_COMPOSE; default: `docker compose` when the v2 plugin is installed, else `docker-compose`]' -r
complete -c mdc -l format -d 'Output format for --resolve' -r -f -a "nodes\t'mode names, space-separated, on one line'
paths\t'one `mode=dir` line per mode (`mode=` when it has no directory)'
json\t'a JSON list of {node, path, dep-str, deps}, on one line'"
complete -c mdc -s v -l verbose -d 'More log output (also VERBOSE=1)'
complete -c mdc -l resolve -d 'Only print the resolved modes (every argument is then part of MODES); writes nothing'
complete -c mdc -l dry-run -d 'Print the resolved modes, the env file and the compose command; write and run nothing'
complete -c mdc -s h -l help -d 'Print help (see more with \'--help\')'
complete -c mdc -s V -l version -d 'Print version'
