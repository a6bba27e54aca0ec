!> Online host of the NEMO-style ocean basin: the reference Pacanowski-Philander scheme or
!> an exported network computes the vertical mixing, on one or several MPI ranks.
!>
!> Usage: mpirun -n NRANKS run_ocean [namelist_file]   (default ocean.nml), with
!>
!>   &ocean_nml jpi=24, jpj=24, jpk=24, dz_top=10., dz_bot=250., dt=3600., nsteps=8640,
!>              time0=0., init_file='', out_file='ocean_out.bin' /
!>   &climlearn_nml model_path='mlp.pt', scheme='ml' /      ! or scheme='reference'
!>
!> init_file (optional): the start state, stream of float64 t, u, v (jpi, jpj, jpk) each;
!> empty: ocean_physics's state at rest. The water columns (mask = 1) are numbered i
!> fastest then j and split into contiguous blocks over the ranks; each rank steps only
!> its block (columns are independent), and with scheme='ml' loads the model once with
!> one intra-op thread and calls it once per step on all of its water columns through
!> climlearn's layout helper (module ocean_ml_mixing: gather T, u, v into x(3 jpk, ncol),
!> forward, scatter 10**y into avt, avm), with the guard on: columns whose network output
!> is not finite get the reference scheme instead. A model with 2 input features is a
!> pointwise (per-interface) emulator: ocean_ml_mixing then computes [Ri / (1 + Ri),
!> static-instability flag] at every water interface of the rank and runs the network
!> once on that batch (FORWARD_SECONDS_PER_STEP is then the network call alone).
!> Every field is reduced onto rank 0 with each column from its owner alone, so the
!> results do not depend on the number of ranks. Rank 0 writes out_file, a stream of
!> float64: time-mean t, final t, u, v (jpi, jpj, jpk each), accumulated surface heat input
!> qsum (jpi, jpj; J m-2), time-mean log10 avt (jpi, jpj, jpk-1); and prints KEY value
!> lines: NRANKS, NWATER, NSTEPS, NONFINITE_STEP (0: none), MIXING_SECONDS_PER_STEP,
!> FORWARD_SECONDS_PER_STEP (the layout call: gather, network, guard, scatter of y),
!> STEP_SECONDS_PER_STEP (wall time, maximum over ranks), the same three as CPU time of
!> the process (MIXING_CPU_SECONDS_PER_STEP, ...: not counting time spent waiting for a
!> core on a shared machine), BACKEND, GUARD_FALLBACK_COLUMNS (columns
!> the guard gave to the reference scheme, summed over steps and ranks; 0 for
!> scheme='reference').
program run_ocean
  use, intrinsic :: iso_c_binding, only: c_double, c_int, c_char
  use, intrinsic :: iso_fortran_env, only: error_unit, int64
  use, intrinsic :: ieee_arithmetic, only: ieee_is_finite
  use mpi
  use climlearn, only: cl_model, cl_model_load, cl_model_backend, cl_set_num_threads, &
                       cl_model_input_shape, cl_model_input_dtype, CL_FLOAT32
  use ocean_physics, only: oc_grid, oc_basin_mask, oc_initial, mixing, oc_step
  use ocean_ml_mixing, only: oml_init, oml_mixing, oml_guard_columns, cpu_seconds
  implicit none

  integer :: jpi = 24, jpj = 24, jpk = 24, nsteps = 240
  real(c_double) :: dz_top = 10.0_c_double, dz_bot = 250.0_c_double
  real(c_double) :: dt = 3600.0_c_double, time0 = 0.0_c_double
  character(len=512) :: init_file = '', out_file = 'ocean_out.bin'
  character(len=512) :: model_path = ''
  character(len=32) :: scheme = 'reference'
  namelist /ocean_nml/ jpi, jpj, jpk, dz_top, dz_bot, dt, nsteps, time0, init_file, out_file
  namelist /climlearn_nml/ model_path, scheme

  integer :: ierr, rank, nranks, u, ios, n, i, j, nwater, lo, hi, bad, iw
  integer(c_int), allocatable :: mask(:, :), own(:, :)
  real(c_double), allocatable :: e3t(:), e3w(:), gdept(:), gdepw(:)
  real(c_double), allocatable :: t(:, :, :), uu(:, :, :), vv(:, :, :), avt(:, :, :), &
                                 avm(:, :, :), qsurf(:, :), tsum(:, :, :), qsum(:, :), &
                                 lavt(:, :, :)
  integer(int64) :: nguard
  integer(int64), allocatable :: xshape(:)
  integer :: xdtype
  real(c_double) :: w0, w1, w2, wmix, wstep, wfwd(2), buf(6), time
  real(c_double) :: c0, c1, c2, cmix, cstep
  logical :: exists, ml
  type(cl_model) :: model
  character(len=512) :: msg, nml_file

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)

  nml_file = 'ocean.nml'
  if (command_argument_count() >= 1) call get_command_argument(1, nml_file)
  open (newunit=u, file=trim(nml_file), status='old', action='read', iostat=ios, iomsg=msg)
  if (ios /= 0) call fail('cannot open namelist file '//trim(nml_file)//': '//trim(msg))
  read (u, nml=ocean_nml, iostat=ios, iomsg=msg)
  if (ios /= 0) call fail('cannot read &ocean_nml from '//trim(nml_file)//': '//trim(msg))
  rewind (u)
  read (u, nml=climlearn_nml, iostat=ios, iomsg=msg)
  if (ios /= 0) call fail('cannot read &climlearn_nml from '//trim(nml_file)//': '//trim(msg))
  close (u)
  if (jpi < 3 .or. jpj < 3 .or. jpk < 2 .or. nsteps < 0 .or. dt <= 0) &
    call fail('&ocean_nml needs jpi, jpj >= 3, jpk >= 2, nsteps >= 0, dt > 0')
  select case (trim(scheme))
  case ('reference')
    ml = .false.
  case ('ml')
    ml = .true.
    if (len_trim(model_path) == 0) &
      call fail("&climlearn_nml: scheme='ml' needs model_path (the exported model file)")
    inquire (file=trim(model_path), exist=exists)
    if (.not. exists) call fail('&climlearn_nml: model file not found: '//trim(model_path))
  case default
    call fail("&climlearn_nml: unknown scheme '"//trim(scheme)// &
              "' (valid: 'reference', 'ml')")
  end select

  allocate (mask(jpi, jpj), own(jpi, jpj), e3t(jpk), e3w(jpk - 1), gdept(jpk), &
            gdepw(jpk + 1), t(jpi, jpj, jpk), uu(jpi, jpj, jpk), vv(jpi, jpj, jpk), &
            avt(jpi, jpj, jpk - 1), avm(jpi, jpj, jpk - 1), qsurf(jpi, jpj), &
            tsum(jpi, jpj, jpk), qsum(jpi, jpj), lavt(jpi, jpj, jpk - 1))
  call oc_grid(int(jpk, c_int), dz_top, dz_bot, e3t, e3w, gdept, gdepw)
  call oc_basin_mask(int(jpi, c_int), int(jpj, c_int), mask)

  ! Decomposition: water columns, numbered i fastest then j, in contiguous blocks.
  nwater = count(mask == 1)
  lo = int(int(rank, kind=8) * nwater / nranks) + 1
  hi = int(int(rank + 1, kind=8) * nwater / nranks)
  own = 0
  iw = 0
  do j = 1, jpj
    do i = 1, jpi
      if (mask(i, j) /= 1) cycle
      iw = iw + 1
      if (iw >= lo .and. iw <= hi) own(i, j) = 1
    end do
  end do

  if (len_trim(init_file) == 0) then
    call oc_initial(int(jpi, c_int), int(jpj, c_int), int(jpk, c_int), mask, gdept, t, uu, vv)
  else
    open (newunit=u, file=trim(init_file), access='stream', form='unformatted', &
          status='old', action='read', iostat=ios, iomsg=msg)
    if (ios /= 0) call fail('cannot open init_file '//trim(init_file)//': '//trim(msg))
    read (u, iostat=ios, iomsg=msg) t, uu, vv
    if (ios /= 0) call fail('cannot read t, u, v from init_file '//trim(init_file)// &
                            ': '//trim(msg))
    close (u)
  end if

  if (ml) then
    call cl_set_num_threads(1)
    call cl_model_load(model, trim(model_path), stat=ios, errmsg=msg)
    if (ios /= 0) call fail('cannot load model '//trim(model_path)//': '//trim(msg))
    ! a network with 2 input features is per interface, otherwise per column
    call cl_model_input_shape(model, 1, xshape, stat=ios, errmsg=msg)
    if (ios /= 0) call fail('cannot read the input shape of '//trim(model_path)//': '//trim(msg))
    xdtype = cl_model_input_dtype(model, 1, stat=ios, errmsg=msg)
    if (ios /= 0) call fail('cannot read the input dtype of '//trim(model_path)//': '//trim(msg))
    call oml_init(own == 1, e3w, pointwise_net=size(xshape) == 2 .and. xshape(1) == 2, &
                  single_precision=xdtype == CL_FLOAT32)
  end if

  avt = 0.0_c_double
  avm = 0.0_c_double
  tsum = 0.0_c_double
  qsum = 0.0_c_double
  lavt = 0.0_c_double
  wmix = 0.0_c_double
  wstep = 0.0_c_double
  wfwd = 0.0_c_double
  cmix = 0.0_c_double
  cstep = 0.0_c_double
  bad = 0
  do n = 1, nsteps
    time = time0 + real(n - 1, c_double) * dt
    w0 = MPI_Wtime()
    c0 = cpu_seconds()
    if (ml) then
      call oml_mixing(model, t, uu, vv, avt, avm, wfwd, ios, msg)
      if (ios /= 0) call fail('model forward failed: '//trim(msg))
    else
      call mixing(int(jpi, c_int), int(jpj, c_int), int(jpk, c_int), own, e3w, t, uu, vv, &
                  avt, avm)
    end if
    w1 = MPI_Wtime()
    c1 = cpu_seconds()
    call oc_step(int(jpi, c_int), int(jpj, c_int), int(jpk, c_int), own, e3t, e3w, time, &
                 dt, t, uu, vv, avt, avm, qsurf)
    w2 = MPI_Wtime()
    c2 = cpu_seconds()
    wmix = wmix + (w1 - w0)
    wstep = wstep + (w2 - w1)
    cmix = cmix + (c1 - c0)
    cstep = cstep + (c2 - c1)
    tsum = tsum + t
    qsum = qsum + dt * qsurf
    where (avt > 0.0_c_double) lavt = lavt + log10(avt)
    if (bad == 0) then
      if (.not. all(ieee_is_finite(t(:, :, 1)))) bad = n
    end if
  end do

  ! Reduce onto rank 0: each column from its owner only (others contribute exact zeros).
  where (own == 0) qsum = 0.0_c_double
  do concurrent (n=1:jpk)
    where (own == 0)
      tsum(:, :, n) = 0.0_c_double
      t(:, :, n) = 0.0_c_double
      uu(:, :, n) = 0.0_c_double
      vv(:, :, n) = 0.0_c_double
    end where
  end do
  do concurrent (n=1:jpk - 1)
    where (own == 0) lavt(:, :, n) = 0.0_c_double
  end do
  call reduce(tsum, size(tsum))
  call reduce(t, size(t))
  call reduce(uu, size(uu))
  call reduce(vv, size(vv))
  call reduce(lavt, size(lavt))
  call reduce(qsum, size(qsum))
  if (bad == 0) bad = huge(bad)
  call MPI_Allreduce(MPI_IN_PLACE, bad, 1, MPI_INTEGER, MPI_MIN, MPI_COMM_WORLD, ierr)
  if (bad == huge(bad)) bad = 0
  nguard = 0
  if (ml) call oml_guard_columns(nguard)
  call MPI_Allreduce(MPI_IN_PLACE, nguard, 1, MPI_INTEGER8, MPI_SUM, MPI_COMM_WORLD, ierr)
  buf = [wmix, wfwd(1), wstep, cmix, wfwd(2), cstep] / real(max(nsteps, 1), c_double)
  call MPI_Allreduce(MPI_IN_PLACE, buf, 6, MPI_DOUBLE_PRECISION, MPI_MAX, MPI_COMM_WORLD, ierr)

  if (rank == 0) then
    if (nsteps > 0) then
      tsum = tsum / real(nsteps, c_double)
      lavt = lavt / real(nsteps, c_double)
    end if
    open (newunit=u, file=trim(out_file)//'.partial', access='stream', form='unformatted', &
          status='replace', action='write', iostat=ios, iomsg=msg)
    if (ios /= 0) call fail('cannot open '//trim(out_file)//': '//trim(msg))
    write (u) tsum, t, uu, vv, qsum, lavt
    close (u)
    call rename_file(trim(out_file)//'.partial', trim(out_file))
    write (*, '(a, 1x, i0)') 'NRANKS', nranks
    write (*, '(a, 1x, i0)') 'NWATER', nwater
    write (*, '(a, 1x, i0)') 'NSTEPS', nsteps
    write (*, '(a, 1x, i0)') 'NONFINITE_STEP', bad
    write (*, '(a, 1x, es14.6)') 'MIXING_SECONDS_PER_STEP', buf(1)
    write (*, '(a, 1x, es14.6)') 'FORWARD_SECONDS_PER_STEP', buf(2)
    write (*, '(a, 1x, es14.6)') 'STEP_SECONDS_PER_STEP', buf(3)
    write (*, '(a, 1x, es14.6)') 'MIXING_CPU_SECONDS_PER_STEP', buf(4)
    write (*, '(a, 1x, es14.6)') 'FORWARD_CPU_SECONDS_PER_STEP', buf(5)
    write (*, '(a, 1x, es14.6)') 'STEP_CPU_SECONDS_PER_STEP', buf(6)
    if (ml) then
      write (*, '(a, 1x, a)') 'BACKEND', trim(cl_model_backend(model))
    else
      write (*, '(a, 1x, a)') 'BACKEND', 'reference'
    end if
    write (*, '(a, 1x, i0)') 'GUARD_FALLBACK_COLUMNS', nguard
  end if
  call MPI_Finalize(ierr)

contains

  !> Sum a field over the ranks onto rank 0 (in place there).
  subroutine reduce(a, n)
    integer, intent(in) :: n                   !< number of elements
    real(c_double), intent(inout) :: a(n)      !< the field (any rank, contiguous)
    integer :: e
    if (rank == 0) then
      call MPI_Reduce(MPI_IN_PLACE, a, n, MPI_DOUBLE_PRECISION, MPI_SUM, 0, &
                      MPI_COMM_WORLD, e)
    else
      call MPI_Reduce(a, a, n, MPI_DOUBLE_PRECISION, MPI_SUM, 0, MPI_COMM_WORLD, e)
    end if
  end subroutine reduce

  !> Rename a file (through the C library).
  subroutine rename_file(from, to)
    character(len=*), intent(in) :: from, to
    interface
      integer(c_int) function c_rename(a, b) bind(c, name='rename')
        import :: c_int, c_char
        character(kind=c_char), intent(in) :: a(*), b(*)
      end function c_rename
    end interface
    if (c_rename(from//achar(0), to//achar(0)) /= 0) &
      call fail('cannot rename '//from//' to '//to)
  end subroutine rename_file

  !> Print msg on stderr (rank 0) and stop every rank with status 1.
  subroutine fail(msg)
    character(len=*), intent(in) :: msg
    integer :: e
    if (rank == 0) write (error_unit, '(a)') 'run_ocean: '//msg
    call MPI_Finalize(e)
    stop 1
  end subroutine fail

end program run_ocean
