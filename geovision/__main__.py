from geovision.cli.main import main

main()
