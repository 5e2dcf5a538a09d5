from logchat.cli.app import main

main()
