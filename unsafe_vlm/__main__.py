from unsafe_vlm.cli import main

if __name__ == "__main__":
    main()
