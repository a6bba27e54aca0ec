!> The LMDZ-style column host: klon columns on a latitude band, decomposed over MPI ranks,
!> integrated with `physiq` (module column_host) and the convection scheme chosen by the
!> namelist &climlearn_nml.
!>
!> usage: [mpirun -n N] run_column NAMELIST_FILE      (default file: column_host.nml)
!>   &column_host klon=32, klev=20, dtime=1800., nsteps=480, every=48, mean_start=0,
!>                tau_evap=86400., lat_min=0., lat_max=60., ps=1.e5,
!>                out_file='column_host.txt' /
!>   &climlearn_nml model_path='conv.pt', scheme='ml',      ! or scheme='reference'
!>                  max_dtdt=5.e-4, max_dqdt=5.e-7 /        ! bounds on emulated tendencies
!>
!> Each rank holds a contiguous block of columns; with scheme='ml' each rank loads the
!> model once with one intra-op thread. Columns are independent, so results do not depend
!> on the number of ranks. Rank 0 writes out_file, one record per line,
!> `name n v(1) ... v(n)`, arrays of columns in column order (klev values per column,
!> level 1 the lowest):
!>   klon, klev, lat, tmean, qmean, prmean, dtconv_mean, dqconv_mean (means over steps
!>   > mean_start), tcol(nsamp*klon: mass-weighted column T every `every` steps),
!>   tfinal, qfinal, resid_raw_mean_abs, resid_mean_abs, prconv_mean (W m-2, kg m-2 s-1),
!>   nonfinite_step (0 when the run stayed finite), conv_seconds_per_step,
!>   step_seconds_per_step (wall time) and conv_cpu_seconds_per_step (CPU time of the
!>   process, which does not count waiting for a core), largest over ranks, nranks.
program run_column
  use, intrinsic :: iso_fortran_env, only: real64, int64, error_unit
  use, intrinsic :: ieee_arithmetic, only: ieee_is_finite
  use mpi
  use climlearn, only: cl_model, cl_model_load, cl_set_num_threads, cl_model_input_shape, &
                       CL_OK
  use column_physics, only: cp_sigma_levels, cp_teq, cp_qsat
  use column_host, only: physiq, host_diag, SCHEME_REFERENCE, SCHEME_ML
  implicit none

  integer, parameter :: dp = real64
  integer :: klon = 32, klev = 20, nsteps = 480, every = 48, mean_start = 0
  real(dp) :: dtime = 1800.0_dp, tau_evap = 86400.0_dp
  real(dp) :: lat_min = 0.0_dp, lat_max = 60.0_dp, ps = 1.0e5_dp
  character(len=1024) :: out_file = 'column_host.txt', nml_file
  namelist /column_host/ klon, klev, dtime, nsteps, every, mean_start, out_file, tau_evap, &
                         lat_min, lat_max, ps
  character(len=1024) :: model_path = ''
  character(len=32) :: scheme = 'reference'
  real(dp) :: max_dtdt = 5.0e-4_dp, max_dqdt = 5.0e-7_dp
  namelist /climlearn_nml/ model_path, scheme, max_dtdt, max_dqdt

  type(cl_model) :: model
  type(host_diag) :: diag
  real(dp), allocatable :: lat(:), sigh(:), sig(:), paprs(:, :), pplay(:, :), dpl(:, :)
  real(dp), allocatable :: t(:, :), q(:, :), pr(:), krate(:, :)
  real(dp), allocatable :: tsum(:, :), qsum(:, :), dtsum(:, :), dqsum(:, :), prsum(:)
  real(dp), allocatable :: prcsum(:), rrsum(:), rsum(:), tcol(:, :)
  integer, allocatable :: counts(:), displs(:)
  integer :: u, ios, i, k, n, ierr, rank, nranks, nloc, i0, isch, stat, nmean, nsamp
  integer :: bad_step, bad_any, nin
  integer(int64), allocatable :: shp(:)
  integer(int64) :: c0, c1, rate
  real(dp) :: conv_sec, step_sec, conv_cpu, vals(3), vmax(3)
  character(len=1024) :: msg
  logical :: exists

  call mpi_init(ierr)
  call mpi_comm_rank(MPI_COMM_WORLD, rank, ierr)
  call mpi_comm_size(MPI_COMM_WORLD, nranks, ierr)

  nml_file = 'column_host.nml'
  if (command_argument_count() >= 1) call get_command_argument(1, nml_file)
  open (newunit=u, file=trim(nml_file), status='old', action='read', iostat=ios, iomsg=msg)
  if (ios /= 0) call fail('cannot open namelist file '//trim(nml_file)//': '//trim(msg))
  read (u, nml=column_host, iostat=ios, iomsg=msg)
  if (ios /= 0) call fail('cannot read &column_host from '//trim(nml_file)//': '//trim(msg))
  rewind (u)
  read (u, nml=climlearn_nml, iostat=ios, iomsg=msg)
  if (ios /= 0) call fail('cannot read &climlearn_nml from '//trim(nml_file)//': '// &
                          trim(msg))
  close (u)
  select case (trim(scheme))
  case ('reference')
    isch = SCHEME_REFERENCE
  case ('ml')
    isch = SCHEME_ML
    inquire (file=trim(model_path), exist=exists)
    if (len_trim(model_path) == 0) &
      call fail("&climlearn_nml: scheme='ml' needs model_path (given '')")
    if (.not. exists) call fail("&climlearn_nml: model_path '"//trim(model_path)// &
                                "' not found (scheme='ml' needs an exported model file)")
  case default
    call fail("&climlearn_nml: unknown scheme '"//trim(scheme)// &
              "' (valid: 'reference', 'ml')")
  end select
  if (klon < nranks .or. klev < 2 .or. every < 1 .or. nsteps < 0 .or. dtime <= 0) &
    call fail('&column_host: need klon >= number of ranks, klev >= 2, every >= 1, '// &
              'nsteps >= 0, dtime > 0')

  ! Block decomposition of the columns over the ranks.
  allocate (counts(nranks), displs(nranks))
  do n = 0, nranks - 1
    counts(n + 1) = klon / nranks + merge(1, 0, n < mod(klon, nranks))
  end do
  displs(1) = 0
  do n = 2, nranks
    displs(n) = displs(n - 1) + counts(n - 1)
  end do
  nloc = counts(rank + 1)
  i0 = displs(rank + 1)

  allocate (lat(nloc), sigh(klev + 1), sig(klev), paprs(nloc, klev + 1), pplay(nloc, klev), &
            dpl(nloc, klev), t(nloc, klev), q(nloc, klev), pr(nloc), krate(nloc, klev))
  do i = 1, nloc
    lat(i) = lat_min + (lat_max - lat_min) * (real(i0 + i, dp) - 0.5_dp) / klon
  end do
  call cp_sigma_levels(klev, sigh, sig)
  do k = 1, klev + 1
    paprs(:, k) = ps * sigh(k)
  end do
  do k = 1, klev
    pplay(:, k) = ps * sig(k)
    dpl(:, k) = paprs(:, k) - paprs(:, k + 1)
  end do
  call cp_teq(nloc, klev, lat, paprs, pplay, t, krate)
  q = 0.5_dp * cp_qsat(t, pplay)

  nin = 2 * klev
  if (isch == SCHEME_ML) then
    call cl_set_num_threads(1, stat=stat, errmsg=msg)
    if (stat == CL_OK) call cl_model_load(model, trim(model_path), stat=stat, errmsg=msg)
    ! The model's input size says which features the host computes (see column_host).
    if (stat == CL_OK) call cl_model_input_shape(model, 1, shp, stat=stat, errmsg=msg)
    if (stat == CL_OK) then
      nin = int(shp(1))
    end if
    if (stat /= CL_OK) then
      write (error_unit, '(a, i0, a)') 'run_column (rank ', rank, '): cannot load model '// &
        trim(model_path)//': '//trim(msg)
      call mpi_abort(MPI_COMM_WORLD, 1, ierr)
    end if
  end if

  nsamp = nsteps / every
  allocate (tsum(nloc, klev), qsum(nloc, klev), dtsum(nloc, klev), dqsum(nloc, klev), &
            prsum(nloc), prcsum(nloc), rrsum(nloc), rsum(nloc), tcol(nloc, max(nsamp, 1)))
  tsum = 0; qsum = 0; dtsum = 0; dqsum = 0; prsum = 0; prcsum = 0; rrsum = 0; rsum = 0
  tcol = 0
  nmean = 0
  bad_step = 0
  conv_sec = 0
  conv_cpu = 0
  call system_clock(c0, rate)
  do n = 1, nsteps
    call physiq(nloc, klev, dtime, lat, paprs, pplay, t, q, pr, isch, model, tau_evap, nin, &
                diag, stat, msg, max_dtdt, max_dqdt)
    if (stat /= CL_OK) then
      write (error_unit, '(a, i0, a, i0, a)') 'run_column (rank ', rank, '): network call '// &
        'failed at step ', n, ': '//trim(msg)
      call mpi_abort(MPI_COMM_WORLD, 1, ierr)
    end if
    conv_sec = conv_sec + diag%conv_seconds
    conv_cpu = conv_cpu + diag%conv_cpu_seconds
    if (.not. all(ieee_is_finite(t)) .or. .not. all(ieee_is_finite(q))) bad_step = n
    call mpi_allreduce(bad_step, bad_any, 1, MPI_INTEGER, MPI_MAX, MPI_COMM_WORLD, ierr)
    if (bad_any > 0) then
      bad_step = bad_any
      exit
    end if
    if (n > mean_start) then
      nmean = nmean + 1
      tsum = tsum + t
      qsum = qsum + q
      dtsum = dtsum + diag%d_t
      dqsum = dqsum + diag%d_q
      prsum = prsum + pr
      prcsum = prcsum + diag%pr_conv
      rrsum = rrsum + abs(diag%resid_raw)
      rsum = rsum + abs(diag%resid)
    end if
    if (mod(n, every) == 0) tcol(:, n / every) = sum(t * dpl, dim=2) / sum(dpl, dim=2)
  end do
  call system_clock(c1)
  step_sec = real(c1 - c0, dp) / real(rate, dp) / max(1, min(n, nsteps))
  conv_sec = conv_sec / max(1, min(n, nsteps))
  conv_cpu = conv_cpu / max(1, min(n, nsteps))
  nmean = max(nmean, 1)
  vals = [conv_sec, step_sec, conv_cpu]
  call mpi_reduce(vals, vmax, 3, MPI_DOUBLE_PRECISION, MPI_MAX, 0, MPI_COMM_WORLD, ierr)

  if (rank == 0) then
    open (newunit=u, file=trim(out_file)//'.partial', status='replace', action='write', &
          iostat=ios, iomsg=msg)
    if (ios /= 0) then
      write (error_unit, '(a)') 'run_column: cannot open '//trim(out_file)//': '//trim(msg)
      call mpi_abort(MPI_COMM_WORLD, 1, ierr)
    end if
    write (u, '(a, 1x, i0, 1x, i0)') 'klon', 1, klon
    write (u, '(a, 1x, i0, 1x, i0)') 'klev', 1, klev
    write (u, '(a, 1x, i0, 1x, i0)') 'nranks', 1, nranks
    write (u, '(a, 1x, i0, 1x, i0)') 'nonfinite_step', 1, bad_step
    write (u, '(a, 1x, i0, 1x, i0)') 'nmean', 1, nmean
    write (u, '(a, 1x, i0, *(1x, es24.16e3))') 'conv_seconds_per_step', 1, vmax(1)
    write (u, '(a, 1x, i0, *(1x, es24.16e3))') 'step_seconds_per_step', 1, vmax(2)
    write (u, '(a, 1x, i0, *(1x, es24.16e3))') 'conv_cpu_seconds_per_step', 1, vmax(3)
  end if
  call gather_write('lat', reshape(lat, [1, nloc]))
  call gather_write('tmean', transpose(tsum) / nmean)
  call gather_write('qmean', transpose(qsum) / nmean)
  call gather_write('dtconv_mean', transpose(dtsum) / nmean)
  call gather_write('dqconv_mean', transpose(dqsum) / nmean)
  call gather_write('prmean', reshape(prsum / nmean, [1, nloc]))
  call gather_write('prconv_mean', reshape(prcsum / nmean, [1, nloc]))
  call gather_write('resid_raw_mean_abs', reshape(rrsum / nmean, [1, nloc]))
  call gather_write('resid_mean_abs', reshape(rsum / nmean, [1, nloc]))
  call gather_write('tfinal', transpose(t))
  call gather_write('qfinal', transpose(q))
  call gather_write('tcol', transpose(tcol))
  if (rank == 0) then
    close (u)
    call rename(trim(out_file)//'.partial', trim(out_file))
  end if
  call mpi_finalize(ierr)

contains

  !> Gather a (m, nloc) local array of all ranks into (m, klon) on rank 0 and write it
  !> as one record `name m*klon values` (columns in order).
  subroutine gather_write(name, a)
    character(len=*), intent(in) :: name
    real(dp), intent(in) :: a(:, :)
    real(dp), allocatable :: g(:, :)
    integer :: m
    m = size(a, 1)
    allocate (g(m, klon))
    call mpi_gatherv(a, m * nloc, MPI_DOUBLE_PRECISION, g, m * counts, m * displs, &
                     MPI_DOUBLE_PRECISION, 0, MPI_COMM_WORLD, ierr)
    if (rank == 0) write (u, '(a, 1x, i0, *(1x, es24.16e3))') name, m * klon, g
  end subroutine gather_write

  !> Print msg on stderr (rank 0) and stop every rank with status 1 (all ranks reach
  !> the same error while reading the namelist).
  subroutine fail(msg)
    character(len=*), intent(in) :: msg
    if (rank == 0) write (error_unit, '(a)') 'run_column: '//msg
    call mpi_finalize(ierr)
    stop 1
  end subroutine fail

end program run_column
