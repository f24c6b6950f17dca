# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_conlink_global_optspecs
    string join \n compose-file= network-file= default-bridge-mode= default-mtu= keep-veth-offload compose-project= show-config check config-schema= docker-socket= control-socket= http-listen= podman-socket= v/verbose h/help V/version
end

function __fish_conlink_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_conlink_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_conlink_using_subcommand
    set -l cmd (__fish_conlink_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c conlink -n "__fish_conlink_needs_command" -l compose-file -d 'Compose file whose `x-network` blocks hold network config (repeatable; each may be a colon-separated list, like COMPOSE_FILE)' -r -F
complete -c conlink -n "__fish_conlink_needs_command" -l network-file -d 'Network config file, YAML or JSON, with top-level links/bridges/tunnels/commands (repeatable; each may be a colon-separated list)' -r -F
complete -c conlink -n "__fish_conlink_needs_command" -l default-bridge-mode -d 'Mode for bridges that do not set one' -r -f -a "auto\t'openvswitch when its kernel module is loaded, else a Linux bridge'
linux\t'Linux kernel bridge'
ovs\t'Open vSwitch bridge (needs the openvswitch kernel module)'
patch\t'tc mirred patch between exactly two links'"
complete -c conlink -n "__fish_conlink_needs_command" -l default-mtu -d 'MTU for links that do not set one (not for *vlan/*vtap links, which inherit their parent\'s)' -r
complete -c conlink -n "__fish_conlink_needs_command" -l compose-project -d 'Only match services of this compose project (default: conlink\'s own container\'s project and working dir)' -r
complete -c conlink -n "__fish_conlink_needs_command" -l config-schema -d 'Print a JSON Schema of the network config and exit. With a FILE (conlink 2.x\'s form, the schema it validated against) it is accepted and ignored: validation is built in' -r -F
complete -c conlink -n "__fish_conlink_needs_command" -l docker-socket -d 'Docker engine API socket (used when it exists)' -r -F
complete -c conlink -n "__fish_conlink_needs_command" -l control-socket -d 'The control socket `conlink status`, `link`, `netem`, `capture` and `events` talk to [default: /run/conlink/control.sock]' -r -F
complete -c conlink -n "__fish_conlink_needs_command" -l http-listen -d 'Serve a read-only topology page and Prometheus /metrics on this address (unauthenticated: bind it only where it may be seen; e.g. 127.0.0.1:8080, or 0.0.0.0:8080 in a container with `ports:`)' -r
complete -c conlink -n "__fish_conlink_needs_command" -l podman-socket -d 'Podman API socket (used when it exists)' -r -F
complete -c conlink -n "__fish_conlink_needs_command" -l keep-veth-offload -d 'Keep tx checksum offload on veth links (by default it is turned off, as offloaded checksums are never filled in on veth-to-veth paths)'
complete -c conlink -n "__fish_conlink_needs_command" -l show-config -d 'Print the merged, enriched network config as JSON and exit'
complete -c conlink -n "__fish_conlink_needs_command" -l check -d 'Validate the network config, print a one-line summary, and exit'
complete -c conlink -n "__fish_conlink_needs_command" -s v -l verbose -d 'More log output (repeat for more; VERBOSE=1 counts as one)'
complete -c conlink -n "__fish_conlink_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c conlink -n "__fish_conlink_needs_command" -s V -l version -d 'Print version'
complete -c conlink -n "__fish_conlink_needs_command" -f -a "graph" -d 'Draw the network topology (Graphviz DOT; SVG/PNG through `dot`; HTML)'
complete -c conlink -n "__fish_conlink_needs_command" -f -a "completions" -d 'Print shell completions for one of the four tools'
complete -c conlink -n "__fish_conlink_needs_command" -f -a "status" -d 'Show the running sidecar\'s links (state, addresses, netem, traffic), bridges, tunnels and milestone'
complete -c conlink -n "__fish_conlink_needs_command" -f -a "link" -d 'Take links administratively down, or up again (held across container restarts)'
complete -c conlink -n "__fish_conlink_needs_command" -f -a "netem" -d 'Impair links with netem at run time (per direction; held across container restarts until reset)'
complete -c conlink -n "__fish_conlink_needs_command" -f -a "capture" -d 'Capture a link\'s packets as pcap (for tcpdump, tshark, Wireshark)'
complete -c conlink -n "__fish_conlink_needs_command" -f -a "events" -d 'Follow what conlink does, one line per event as it happens'
complete -c conlink -n "__fish_conlink_needs_command" -f -a "mdc" -d 'Modular compose: resolve modes, assemble .env and .files, run docker compose'
complete -c conlink -n "__fish_conlink_needs_command" -f -a "wait" -d 'Wait for files, interfaces, addresses, TCP ports or commands, then exec a command'
complete -c conlink -n "__fish_conlink_needs_command" -f -a "copy" -d 'Overlay a directory tree with {{VAR}} templating, then exec a command'
complete -c conlink -n "__fish_conlink_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c conlink -n "__fish_conlink_using_subcommand graph" -l compose-file -d 'Compose file whose `x-network` blocks hold network config (repeatable; each may be a colon-separated list, like COMPOSE_FILE)' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand graph" -l network-file -d 'Network config file, YAML or JSON (repeatable; each may be a colon-separated list)' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand graph" -l default-bridge-mode -d 'Mode for bridges that do not set one (drawn in each bridge\'s label) [default: auto]' -r -f -a "auto\t'openvswitch when its kernel module is loaded, else a Linux bridge'
linux\t'Linux kernel bridge'
ovs\t'Open vSwitch bridge (needs the openvswitch kernel module)'
patch\t'tc mirred patch between exactly two links'"
complete -c conlink -n "__fish_conlink_using_subcommand graph" -l format -d 'Output format (svg and png need Graphviz\'s `dot` installed; html is the sidecar\'s topology page as a static file)' -r -f -a "dot\t''
svg\t'needs Graphviz\'s `dot`'
png\t'needs Graphviz\'s `dot`'
html\t'the live page\'s drawing, as one self-contained file (no Graphviz)'"
complete -c conlink -n "__fish_conlink_using_subcommand graph" -s o -l output -d 'Write to this file instead of stdout' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand graph" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c conlink -n "__fish_conlink_using_subcommand completions" -s h -l help -d 'Print help'
complete -c conlink -n "__fish_conlink_using_subcommand status" -l socket -d 'The running sidecar\'s control socket' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand status" -l json -d 'Print the status as JSON (schema: docs/control.md)'
complete -c conlink -n "__fish_conlink_using_subcommand status" -s h -l help -d 'Print help'
complete -c conlink -n "__fish_conlink_using_subcommand link; and not __fish_seen_subcommand_from down up help" -s h -l help -d 'Print help'
complete -c conlink -n "__fish_conlink_using_subcommand link; and not __fish_seen_subcommand_from down up help" -f -a "down" -d 'Set links administratively down (the peer end loses carrier)'
complete -c conlink -n "__fish_conlink_using_subcommand link; and not __fish_seen_subcommand_from down up help" -f -a "up" -d 'Bring links taken down with `link down` up again'
complete -c conlink -n "__fish_conlink_using_subcommand link; and not __fish_seen_subcommand_from down up help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c conlink -n "__fish_conlink_using_subcommand link; and __fish_seen_subcommand_from down" -l socket -d 'The running sidecar\'s control socket' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand link; and __fish_seen_subcommand_from down" -s h -l help -d 'Print help'
complete -c conlink -n "__fish_conlink_using_subcommand link; and __fish_seen_subcommand_from up" -l socket -d 'The running sidecar\'s control socket' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand link; and __fish_seen_subcommand_from up" -s h -l help -d 'Print help'
complete -c conlink -n "__fish_conlink_using_subcommand link; and __fish_seen_subcommand_from help" -f -a "down" -d 'Set links administratively down (the peer end loses carrier)'
complete -c conlink -n "__fish_conlink_using_subcommand link; and __fish_seen_subcommand_from help" -f -a "up" -d 'Bring links taken down with `link down` up again'
complete -c conlink -n "__fish_conlink_using_subcommand link; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c conlink -n "__fish_conlink_using_subcommand netem; and not __fish_seen_subcommand_from set show reset help" -s h -l help -d 'Print help'
complete -c conlink -n "__fish_conlink_using_subcommand netem; and not __fish_seen_subcommand_from set show reset help" -f -a "set" -d 'Set netem on links: IDs, then `--`, then options in the config\'s netem grammar'
complete -c conlink -n "__fish_conlink_using_subcommand netem; and not __fish_seen_subcommand_from set show reset help" -f -a "show" -d 'Show links\' netem: from the config and set at run time, per direction'
complete -c conlink -n "__fish_conlink_using_subcommand netem; and not __fish_seen_subcommand_from set show reset help" -f -a "reset" -d 'Drop netem set at run time: back to the config\'s netem'
complete -c conlink -n "__fish_conlink_using_subcommand netem; and not __fish_seen_subcommand_from set show reset help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c conlink -n "__fish_conlink_using_subcommand netem; and __fish_seen_subcommand_from set" -l direction -d 'Which traffic: out = leaving the container (as the config\'s netem), in = arriving at it, both = each way' -r -f -a "out\t'Leaving the container'
in\t'Arriving at the container'
both\t'Both ways'"
complete -c conlink -n "__fish_conlink_using_subcommand netem; and __fish_seen_subcommand_from set" -l socket -d 'The running sidecar\'s control socket' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand netem; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c conlink -n "__fish_conlink_using_subcommand netem; and __fish_seen_subcommand_from show" -l socket -d 'The running sidecar\'s control socket' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand netem; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c conlink -n "__fish_conlink_using_subcommand netem; and __fish_seen_subcommand_from reset" -l direction -d 'Which direction to reset' -r -f -a "out\t'Leaving the container'
in\t'Arriving at the container'
both\t'Both ways'"
complete -c conlink -n "__fish_conlink_using_subcommand netem; and __fish_seen_subcommand_from reset" -l socket -d 'The running sidecar\'s control socket' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand netem; and __fish_seen_subcommand_from reset" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c conlink -n "__fish_conlink_using_subcommand netem; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set netem on links: IDs, then `--`, then options in the config\'s netem grammar'
complete -c conlink -n "__fish_conlink_using_subcommand netem; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show links\' netem: from the config and set at run time, per direction'
complete -c conlink -n "__fish_conlink_using_subcommand netem; and __fish_seen_subcommand_from help" -f -a "reset" -d 'Drop netem set at run time: back to the config\'s netem'
complete -c conlink -n "__fish_conlink_using_subcommand netem; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c conlink -n "__fish_conlink_using_subcommand capture" -s w -l write -d 'Write the pcap to FILE (`-`: standard output, the default when it is not a terminal)' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand capture" -s c -l count -d 'Stop after COUNT packets (default: until Ctrl-C or the link goes away)' -r
complete -c conlink -n "__fish_conlink_using_subcommand capture" -l direction -d 'Which packets, seen from the container' -r -f -a "out\t'Leaving the container'
in\t'Arriving at the container'
both\t'Both ways'"
complete -c conlink -n "__fish_conlink_using_subcommand capture" -l snaplen -d 'Bytes kept of each packet [default and maximum: 262144]' -r
complete -c conlink -n "__fish_conlink_using_subcommand capture" -l socket -d 'The running sidecar\'s control socket' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand capture" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c conlink -n "__fish_conlink_using_subcommand events" -l socket -d 'The running sidecar\'s control socket' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand events" -l json -d 'One JSON object per line (schema: docs/control.md)'
complete -c conlink -n "__fish_conlink_using_subcommand events" -s h -l help -d 'Print help'
complete -c conlink -n "__fish_conlink_using_subcommand mdc" -l modes-dir -d 'Modes dirs (each subdirectory is a mode) or JSON dep files, colon- or comma-separated' -r
complete -c conlink -n "__fish_conlink_using_subcommand mdc" -l env-file -d 'The env file to write (and to pass to compose)' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand mdc" -l files-dir -d 'Where the modes\' `<svc>/files/` trees are merged (rebuilt every run)' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand mdc" -l compose-command -d 'The compose command [env: DOCKER_COMPOSE; default: `docker compose` when the v2 plugin is installed, else `docker-compose`]' -r
complete -c conlink -n "__fish_conlink_using_subcommand mdc" -l format -d 'Output format for --resolve' -r -f -a "nodes\t'mode names, space-separated, on one line'
paths\t'one `mode=dir` line per mode (`mode=` when it has no directory)'
json\t'a JSON list of {node, path, dep-str, deps}, on one line'"
complete -c conlink -n "__fish_conlink_using_subcommand mdc" -s v -l verbose -d 'More log output (also VERBOSE=1)'
complete -c conlink -n "__fish_conlink_using_subcommand mdc" -l resolve -d 'Only print the resolved modes (every argument is then part of MODES); writes nothing'
complete -c conlink -n "__fish_conlink_using_subcommand mdc" -l dry-run -d 'Print the resolved modes, the env file and the compose command; write and run nothing'
complete -c conlink -n "__fish_conlink_using_subcommand mdc" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c conlink -n "__fish_conlink_using_subcommand mdc" -s V -l version -d 'Print version'
complete -c conlink -n "__fish_conlink_using_subcommand wait" -s f -l file -d 'Wait until PATH exists (any kind of file; symlinks are followed)' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand wait" -s i -l if -l intf -d 'Wait until the network interface NAME exists' -r
complete -c conlink -n "__fish_conlink_using_subcommand wait" -s I -l ip -d 'Wait until interface NAME exists, is up and has a usable IPv4 or IPv6 address (not link-local, not tentative)' -r
complete -c conlink -n "__fish_conlink_using_subcommand wait" -s t -l tcp -d 'Wait until HOST:PORT accepts a TCP connection ([v6addr]:PORT for IPv6; names are resolved again on every try)' -r
complete -c conlink -n "__fish_conlink_using_subcommand wait" -s c -l cmd -l command -d 'Wait until CMD exits 0 (run with `sh -c` when a shell exists, else split into words and run directly)' -r
complete -c conlink -n "__fish_conlink_using_subcommand wait" -s u -l umask -d 'Umask (octal, e.g. 022) for the command run after `--`' -r
complete -c conlink -n "__fish_conlink_using_subcommand wait" -s s -l sleep -d 'Retry interval for TCP and command checks, in seconds (fractions allowed)' -r
complete -c conlink -n "__fish_conlink_using_subcommand wait" -l timeout -d 'Give up after SECS seconds for all conditions together (exit 124)' -r
complete -c conlink -n "__fish_conlink_using_subcommand wait" -s q -l quiet -d 'No progress lines (errors and the timeout message are still printed)'
complete -c conlink -n "__fish_conlink_using_subcommand wait" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c conlink -n "__fish_conlink_using_subcommand wait" -s V -l version -d 'Print version'
complete -c conlink -n "__fish_conlink_using_subcommand copy" -l max-render-size -d 'Fail (exit 1, nothing written) when a template renders to more than SIZE: a byte count, or with a K, M or G suffix (binary)' -r
complete -c conlink -n "__fish_conlink_using_subcommand copy" -l chown -d 'Owner for copied entries: UID:GID, UID, :GID (names work where /etc/passwd and /etc/group exist). Default: the source\'s owner when run as root, else the current user' -r
complete -c conlink -n "__fish_conlink_using_subcommand copy" -l chmod -d 'Permission bits for copied regular files: octal (0644) or symbolic (u+w, go-w, a=rX). Default: the source file\'s bits' -r
complete -c conlink -n "__fish_conlink_using_subcommand copy" -s T -l template -d 'Replace {{NAME}} with the environment variable NAME where it is set (left as is where not), {{NAME:-default}} with a default when NAME is unset or empty. Files that are not UTF-8 text or contain NUL bytes are copied unchanged'
complete -c conlink -n "__fish_conlink_using_subcommand copy" -l tera -d 'Render files as Tera templates instead, with the environment as context: {{ env.NAME }}, get_env(name="NAME", default="d"), filters, {% if %}, {% for %}, {% include "path/under/src" %}'
complete -c conlink -n "__fish_conlink_using_subcommand copy" -l strict -d 'With -T: fail (exit 1, nothing written) if any {{NAME}} without a default names an unset variable; every such token is listed'
complete -c conlink -n "__fish_conlink_using_subcommand copy" -s n -l dry-run -d 'Print what would be written and which tokens would be replaced; change nothing'
complete -c conlink -n "__fish_conlink_using_subcommand copy" -s v -l verbose -d 'List each entry as it is written'
complete -c conlink -n "__fish_conlink_using_subcommand copy" -s q -l quiet -d 'No summary line'
complete -c conlink -n "__fish_conlink_using_subcommand copy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c conlink -n "__fish_conlink_using_subcommand copy" -s V -l version -d 'Print version'
complete -c conlink -n "__fish_conlink_using_subcommand help; and not __fish_seen_subcommand_from graph completions status link netem capture events mdc wait copy help" -f -a "graph" -d 'Draw the network topology (Graphviz DOT; SVG/PNG through `dot`; HTML)'
complete -c conlink -n "__fish_conlink_using_subcommand help; and not __fish_seen_subcommand_from graph completions status link netem capture events mdc wait copy help" -f -a "completions" -d 'Print shell completions for one of the four tools'
complete -c conlink -n "__fish_conlink_using_subcommand help; and not __fish_seen_subcommand_from graph completions status link netem capture events mdc wait copy help" -f -a "status" -d 'Show the running sidecar\'s links (state, addresses, netem, traffic), bridges, tunnels and milestone'
complete -c conlink -n "__fish_conlink_using_subcommand help; and not __fish_seen_subcommand_from graph completions status link netem capture events mdc wait copy help" -f -a "link" -d 'Take links administratively down, or up again (held across container restarts)'
complete -c conlink -n "__fish_conlink_using_subcommand help; and not __fish_seen_subcommand_from graph completions status link netem capture events mdc wait copy help" -f -a "netem" -d 'Impair links with netem at run time (per direction; held across container restarts until reset)'
complete -c conlink -n "__fish_conlink_using_subcommand help; and not __fish_seen_subcommand_from graph completions status link netem capture events mdc wait copy help" -f -a "capture" -d 'Capture a link\'s packets as pcap (for tcpdump, tshark, Wireshark)'
complete -c conlink -n "__fish_conlink_using_subcommand help; and not __fish_seen_subcommand_from graph completions status link netem capture events mdc wait copy help" -f -a "events" -d 'Follow what conlink does, one line per event as it happens'
complete -c conlink -n "__fish_conlink_using_subcommand help; and not __fish_seen_subcommand_from graph completions status link netem capture events mdc wait copy help" -f -a "mdc" -d 'Modular compose: resolve modes, assemble .env and .files, run docker compose'
complete -c conlink -n "__fish_conlink_using_subcommand help; and not __fish_seen_subcommand_from graph completions status link netem capture events mdc wait copy help" -f -a "wait" -d 'Wait for files, interfaces, addresses, TCP ports or commands, then exec a command'
complete -c conlink -n "__fish_conlink_using_subcommand help; and not __fish_seen_subcommand_from graph completions status link netem capture events mdc wait copy help" -f -a "copy" -d 'Overlay a directory tree with {{VAR}} templating, then exec a command'
complete -c conlink -n "__fish_conlink_using_subcommand help; and not __fish_seen_subcommand_from graph completions status link netem capture events mdc wait copy help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c conlink -n "__fish_conlink_using_subcommand help; and __fish_seen_subcommand_from link" -f -a "down" -d 'Set links administratively down (the peer end loses carrier)'
complete -c conlink -n "__fish_conlink_using_subcommand help; and __fish_seen_subcommand_from link" -f -a "up" -d 'Bring links taken down with `link down` up again'
complete -c conlink -n "__fish_conlink_using_subcommand help; and __fish_seen_subcommand_from netem" -f -a "set" -d 'Set netem on links: IDs, then `--`, then options in the config\'s netem grammar'
complete -c conlink -n "__fish_conlink_using_subcommand help; and __fish_seen_subcommand_from netem" -f -a "show" -d 'Show links\' netem: from the config and set at run time, per direction'
complete -c conlink -n "__fish_conlink_using_subcommand help; and __fish_seen_subcommand_from netem" -f -a "reset" -d 'Drop netem set at run time: back to the config\'s netem'
