# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_conlink_global_optspecs
    string join \n compose-file= network-file= default-bridge-mode= default-mtu= keep-veth-offload compose-project= show-config check config-schema= docker-socket= podman-socket= v/verbose h/help V/version
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
complete -c conlink -n "__fish_conlink_needs_command" -l podman-socket -d 'Podman API socket (used when it exists)' -r -F
complete -c conlink -n "__fish_conlink_needs_command" -l keep-veth-offload -d 'Keep tx checksum offload on veth links (by default it is turned off, as offloaded checksums are never filled in on veth-to-veth paths)'
complete -c conlink -n "__fish_conlink_needs_command" -l show-config -d 'Print the merged, enriched network config as JSON and exit'
complete -c conlink -n "__fish_conlink_needs_command" -l check -d 'Validate the network config, print a one-line summary, and exit'
complete -c conlink -n "__fish_conlink_needs_command" -s v -l verbose -d 'More log output (repeat for more; VERBOSE=1 counts as one)'
complete -c conlink -n "__fish_conlink_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c conlink -n "__fish_conlink_needs_command" -s V -l version -d 'Print version'
complete -c conlink -n "__fish_conlink_needs_command" -f -a "graph" -d 'Draw the network topology (Graphviz DOT; SVG/PNG through `dot`)'
complete -c conlink -n "__fish_conlink_needs_command" -f -a "completions" -d 'Print shell completions for one of the four tools'
complete -c conlink -n "__fish_conlink_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c conlink -n "__fish_conlink_using_subcommand graph" -l format -d 'Output format (svg and png need Graphviz\'s `dot` installed)' -r -f -a "dot\t''
svg\t''
png\t''"
complete -c conlink -n "__fish_conlink_using_subcommand graph" -s o -l output -d 'Write to this file instead of stdout' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand graph" -l compose-file -d 'Compose file whose `x-network` blocks hold network config (repeatable; each may be a colon-separated list, like COMPOSE_FILE)' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand graph" -l network-file -d 'Network config file, YAML or JSON, with top-level links/bridges/tunnels/commands (repeatable; each may be a colon-separated list)' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand graph" -l default-bridge-mode -d 'Mode for bridges that do not set one' -r -f -a "auto\t'openvswitch when its kernel module is loaded, else a Linux bridge'
linux\t'Linux kernel bridge'
ovs\t'Open vSwitch bridge (needs the openvswitch kernel module)'
patch\t'tc mirred patch between exactly two links'"
complete -c conlink -n "__fish_conlink_using_subcommand graph" -l default-mtu -d 'MTU for links that do not set one (not for *vlan/*vtap links, which inherit their parent\'s)' -r
complete -c conlink -n "__fish_conlink_using_subcommand graph" -l keep-veth-offload -d 'Keep tx checksum offload on veth links (by default it is turned off, as offloaded checksums are never filled in on veth-to-veth paths)'
complete -c conlink -n "__fish_conlink_using_subcommand graph" -s v -l verbose -d 'More log output (repeat for more; VERBOSE=1 counts as one)'
complete -c conlink -n "__fish_conlink_using_subcommand graph" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c conlink -n "__fish_conlink_using_subcommand completions" -l compose-file -d 'Compose file whose `x-network` blocks hold network config (repeatable; each may be a colon-separated list, like COMPOSE_FILE)' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand completions" -l network-file -d 'Network config file, YAML or JSON, with top-level links/bridges/tunnels/commands (repeatable; each may be a colon-separated list)' -r -F
complete -c conlink -n "__fish_conlink_using_subcommand completions" -l default-bridge-mode -d 'Mode for bridges that do not set one' -r -f -a "auto\t'openvswitch when its kernel module is loaded, else a Linux bridge'
linux\t'Linux kernel bridge'
ovs\t'Open vSwitch bridge (needs the openvswitch kernel module)'
patch\t'tc mirred patch between exactly two links'"
complete -c conlink -n "__fish_conlink_using_subcommand completions" -l default-mtu -d 'MTU for links that do not set one (not for *vlan/*vtap links, which inherit their parent\'s)' -r
complete -c conlink -n "__fish_conlink_using_subcommand completions" -l keep-veth-offload -d 'Keep tx checksum offload on veth links (by default it is turned off, as offloaded checksums are never filled in on veth-to-veth paths)'
complete -c conlink -n "__fish_conlink_using_subcommand completions" -s v -l verbose -d 'More log output (repeat for more; VERBOSE=1 counts as one)'
complete -c conlink -n "__fish_conlink_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c conlink -n "__fish_conlink_using_subcommand help; and not __fish_seen_subcommand_from graph completions help" -f -a "graph" -d 'Draw the network topology (Graphviz DOT; SVG/PNG through `dot`)'
complete -c conlink -n "__fish_conlink_using_subcommand help; and not __fish_seen_subcommand_from graph completions help" -f -a "completions" -d 'Print shell completions for one of the four tools'
complete -c conlink -n "__fish_conlink_using_subcommand help; and not __fish_seen_subcommand_from graph completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
