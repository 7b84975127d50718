from optviz.app.cli import main

main()
