from facecast.cli import main

raise SystemExit(main())
